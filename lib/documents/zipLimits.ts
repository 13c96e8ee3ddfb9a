// Pure: is a ZIP container (DOCX, PPTX, XLSX) within the inflation limits, judged from its central
// directory before anything is inflated? A zip bomb declares (or, lying, hides) far more bytes than
// it holds; the declared sizes are checked here, and inspectZip verifies them by inflating.
export type ZipLimits = {
  maxUnzippedBytes: number;
  maxRatio: number;
  /** The largest entry a parser may inflate at once (the CPU threads: a quarter of their heap). */
  maxEntryBytes?: number;
};
export type ZipEntrySizes = { name: string; compressedSize: number; uncompressedSize: number };

export const MAX_ZIP_ENTRIES = 10_000;
/** TVDB_MAX_UNZIPPED_BYTES and TVDB_MAX_ZIP_RATIO's defaults (lib/config.ts). */
export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxUnzippedBytes: 200 * 1024 * 1024, maxRatio: 100 };
// Small entries may compress very well (a run of spaces) without harm: the ratio counts from here.
const RATIO_FLOOR_BYTES = 1024 * 1024;

export function zipLimitRefusal(entries: ZipEntrySizes[], limits: ZipLimits): string | null {
  if (entries.length > MAX_ZIP_ENTRIES)
    return `the ZIP container has ${entries.length} entries, over ${MAX_ZIP_ENTRIES}`;
  let total = 0;
  for (const entry of entries) {
    total += entry.uncompressedSize;
    if (total > limits.maxUnzippedBytes)
      return `the ZIP container declares over ${limits.maxUnzippedBytes} bytes once inflated, the limit (TVDB_MAX_UNZIPPED_BYTES)`;
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (entry.uncompressedSize > RATIO_FLOOR_BYTES && ratio > limits.maxRatio)
      return (
        `the ZIP entry ${JSON.stringify(entry.name.slice(0, 100))} inflates ${Math.round(ratio)} times ` +
        `(${entry.compressedSize} to ${entry.uncompressedSize} bytes), over the maximum ratio of ${limits.maxRatio} (TVDB_MAX_ZIP_RATIO): a zip bomb`
      );
  }
  return null;
}
