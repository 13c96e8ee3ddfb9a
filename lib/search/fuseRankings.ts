// Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): each list adds 1 / (K + rank)
// for the items it holds, so an item ranked well by both lists beats one ranked first by one
// list only, and the lists' raw scores (cosine similarity, ts_rank) never have to be compared.
// pure: no I/O. Scores are scaled so that first in every list is 1.
export const RRF_K = 60;

export type Ranked = { sha: string; score: number };
export type Fused = { sha: string; score: number; ranks: Array<number | null> };

export function fuseRankings(lists: ReadonlyArray<readonly Ranked[]>, k = RRF_K): Fused[] {
  const fused = new Map<string, Fused>();
  for (const [l, list] of lists.entries()) {
    for (const [i, item] of list.entries()) {
      let entry = fused.get(item.sha);
      if (!entry) {
        entry = { sha: item.sha, score: 0, ranks: lists.map(() => null) };
        fused.set(item.sha, entry);
      }
      if (entry.ranks[l] !== null) continue; // a list names each item once; a repeat adds nothing
      entry.ranks[l] = i + 1;
      entry.score += 1 / (k + i + 1);
    }
  }
  const best = lists.length / (k + 1);
  return [...fused.values()]
    .map((f) => ({ ...f, score: f.score / best }))
    .sort((a, b) => b.score - a.score || bestRank(a) - bestRank(b) || (a.sha < b.sha ? -1 : 1));
}

const bestRank = (f: Fused) => Math.min(...f.ranks.map((r) => r ?? Infinity));
