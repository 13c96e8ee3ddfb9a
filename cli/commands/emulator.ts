import type { Command } from '../command.ts';
import { parseCommandArgs, UsageError } from '../command.ts';
import { LlamaParseEmulator } from '../../emulators/llamaparse/index.ts';
import { EmbeddingEmulator } from '../../emulators/embeddings.ts';

const command: Command = {
  usage: `Usage: tvdb emulator llamaparse|embeddings [--port N] [--host H] [--per-page-ms N] [--latency-ms N]

llamaparse: the v2 parse API (POST /api/v2/parse/upload, GET /api/v2/parse/{id}, cancel) with
  webhooks. API key: llx-emulator. Point the pipeline at it:
    LLAMA_CLOUD_API_KEY=llx-emulator LLAMA_CLOUD_BASE_URL=http://127.0.0.1:PORT
embeddings: POST /v1/embeddings. API key: sk-emulator. Point the pipeline at it:
    EMBEDDINGS_PROVIDER=openai EMBEDDINGS_API_KEY=sk-emulator EMBEDDINGS_BASE_URL=http://127.0.0.1:PORT/v1
Both accept faults at POST /_emulator/faults and report counts at GET /_emulator/stats.`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'per-page-ms': { type: 'string' },
        'latency-ms': { type: 'string' },
      },
      allowPositionals: true,
    });
    const kind = positionals[0];
    if (kind !== 'llamaparse' && kind !== 'embeddings')
      throw new UsageError('say which emulator: llamaparse or embeddings');
    const port = Number(values.port ?? (kind === 'llamaparse' ? 8788 : 8789));
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port ${values.port} is not a port number`);
    const host = values.host ?? '127.0.0.1';
    const emulator =
      kind === 'llamaparse'
        ? new LlamaParseEmulator({
            port,
            host,
            perPageDelayMs: Number(values['per-page-ms'] ?? 100),
            log: (m) => process.stdout.write(`${m}\n`),
          })
        : new EmbeddingEmulator({ port, host, latencyMs: Number(values['latency-ms'] ?? 0) });
    const url = await emulator.start();
    process.stdout.write(`${kind} emulator listening on ${url} (Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await emulator.stop();
    return 0;
  },
};
export default command;
