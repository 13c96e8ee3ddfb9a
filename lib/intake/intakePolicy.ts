// What intake accepts, from the configured pipeline: a size limit and the types its parser reads.
import type { DocumentKind } from '../documents/detectType.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';

export type IntakePolicy = {
  maxBytes: number;
  acceptedKinds: readonly DocumentKind[];
  parserName: string;
  maxAttempts: number;
};

export function intakePolicy(deps: PipelineDeps): IntakePolicy {
  return {
    maxBytes: deps.config.TVDB_MAX_FILE_BYTES,
    acceptedKinds: deps.parser.acceptedKinds,
    parserName: deps.parser.parser,
    maxAttempts: deps.attempts('job__parse'),
  };
}
