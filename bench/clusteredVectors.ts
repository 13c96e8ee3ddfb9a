// Generated vectors with the shape of text embeddings rather than uniform noise: every vector shares
// a common direction (embedding spaces are anisotropic), belongs to one of many clusters (topics,
// documents) of very unequal sizes (Zipf-like), and clusters group under broader themes. Unit
// length, float32. Deterministic for a seed, so the exact neighbours can be recomputed without
// storing the vectors: the same sequence is generated again. pure.
export type ClusterSpec = { dimensions: number; clusters: number; themes: number; seed: number };

/** mulberry32: small, fast, good enough for test data. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number) {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function randomUnit(random: () => number, d: number): Float64Array {
  const v = new Float64Array(d);
  for (let i = 0; i < d; i++) v[i] = gaussian(random);
  return scaleToUnit(v);
}

function scaleToUnit(v: Float64Array): Float64Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

export type ClusterModel = {
  spec: ClusterSpec;
  centers: Float64Array[];
  spreads: number[];
  /** Cumulative cluster weights, for picking a cluster. */
  cumulative: number[];
};

export function clusterModel(spec: ClusterSpec): ClusterModel {
  const random = prng(spec.seed);
  const d = spec.dimensions;
  const common = randomUnit(random, d);
  const themes = Array.from({ length: spec.themes }, () => randomUnit(random, d));
  const centers: Float64Array[] = [];
  const spreads: number[] = [];
  const weights: number[] = [];
  for (let c = 0; c < spec.clusters; c++) {
    const theme = themes[c % spec.themes]!;
    const own = randomUnit(random, d);
    const center = new Float64Array(d);
    for (let i = 0; i < d; i++) center[i] = 0.4 * common[i]! + theme[i]! + 0.8 * own[i]!;
    centers.push(scaleToUnit(center));
    spreads.push(0.5 + 0.5 * random()); // neighbours within a cluster: cosine ~0.5-0.8
    weights.push(1 / (c + 10)); // Zipf-like sizes
  }
  let sum = 0;
  const cumulative = weights.map((w) => (sum += w));
  return { spec, centers, spreads, cumulative: cumulative.map((c) => c / sum) };
}

/** The vectors of one stream (the data set, or the queries), in order, as float32. */
export function* clusteredVectors(model: ClusterModel, count: number, streamSeed: number): Generator<Float32Array> {
  const random = prng(streamSeed);
  const d = model.spec.dimensions;
  const noise = new Float64Array(d);
  for (let n = 0; n < count; n++) {
    const c = pick(model.cumulative, random());
    const center = model.centers[c]!;
    const spread = model.spreads[c]! / Math.sqrt(d);
    let s = 0;
    for (let i = 0; i < d; i++) {
      noise[i] = center[i]! + spread * gaussian(random);
      s += noise[i]! * noise[i]!;
    }
    const norm = Math.sqrt(s);
    const v = new Float32Array(d);
    for (let i = 0; i < d; i++) v[i] = noise[i]! / norm;
    yield v;
  }
}

/** The first index whose cumulative weight reaches r (binary search). */
function pick(cumulative: number[], r: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! >= r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
