// The parser configuration selects: LlamaParse when LLAMA_CLOUD_API_KEY is set, else the local one.
import type { Config } from '../config.ts';
import type { DocumentKind } from '../documents/detectType.ts';
import { LOCAL_PARSER_KINDS } from './local/kinds.ts';
import { createLlamaParseClient, type LlamaParseClient } from './llamaparse/client.ts';

export type ParserChoice =
  | { parser: 'local'; settingsKey: string; acceptedKinds: readonly DocumentKind[] }
  | {
      parser: 'llamaparse';
      settingsKey: string;
      acceptedKinds: readonly DocumentKind[];
      client: LlamaParseClient;
      /** Set when PUBLIC_BASE_URL is: LlamaParse calls us back; otherwise we poll. */
      webhook: { baseUrl: string; signingSecret: string | undefined } | null;
    };

const LLAMAPARSE_KINDS: readonly DocumentKind[] = ['pdf', 'docx', 'pptx', 'xlsx', 'html', 'markdown', 'text', 'image'];

export function chooseParser(config: Config): ParserChoice {
  if (!config.LLAMA_CLOUD_API_KEY)
    return { parser: 'local', settingsKey: 'local-v1', acceptedKinds: LOCAL_PARSER_KINDS };
  const client = createLlamaParseClient({
    apiKey: config.LLAMA_CLOUD_API_KEY,
    baseURL: config.LLAMA_CLOUD_BASE_URL,
    tier: config.LLAMAPARSE_TIER,
    timeoutMs: config.LLAMAPARSE_TIMEOUT_MS,
  });
  return {
    parser: 'llamaparse',
    settingsKey: client.settingsKey,
    acceptedKinds: LLAMAPARSE_KINDS,
    client,
    webhook: config.PUBLIC_BASE_URL
      ? {
          baseUrl: config.PUBLIC_BASE_URL.replace(/\/+$/, ''),
          // The first secret signs new jobs; the others only verify (rotation).
          signingSecret: config.LLAMAPARSE_WEBHOOK_SECRET?.[0],
        }
      : null,
  };
}
