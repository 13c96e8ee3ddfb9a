// Pure: the lengths of runs of non-space characters, which bound what the tokenizer is given at once.
/** Runs of non-space characters longer than this are counted (and split by the chunker) in slices:
 * the tokenizer's byte-pair merging is quadratic in the length of one pre-token (a 210,000-character
 * word took 26 s; 2,048 characters take ~1 ms). */
export const MAX_RUN_CHARS = 2048;

/** The length of the longest run of non-space characters in `text` (one pass). */
export function longestRun(text: string): number {
  let longest = 0;
  let current = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9 || c === 13 || c === 12 || c === 11) current = 0;
    else if (++current > longest) longest = current;
  }
  return longest;
}
