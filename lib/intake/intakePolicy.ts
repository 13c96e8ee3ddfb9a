// What intake accepts, from the configured pipeline: a size limit, the types its parser reads, and
// how far a ZIP container (DOCX and friends) may inflate.
import type { DocumentKind } from '../documents/detectType.ts';
import type { ZipLimits } from '../documents/zipLimits.ts';
import type { PipelineDeps } from '../pipeline/deps.ts';

export type IntakePolicy = {
  maxBytes: number;
  acceptedKinds: readonly DocumentKind[];
  parserName: string;
  maxAttempts: number;
  zip: ZipLimits;
};

export function intakePolicy(deps: PipelineDeps): IntakePolicy {
  return {
    maxBytes: deps.config.TVDB_MAX_FILE_BYTES,
    acceptedKinds: deps.parser.acceptedKinds,
    parserName: deps.parser.parser,
    maxAttempts: deps.attempts('job__parse'),
    zip: { maxUnzippedBytes: deps.config.TVDB_MAX_UNZIPPED_BYTES, maxRatio: deps.config.TVDB_MAX_ZIP_RATIO },
  };
}
