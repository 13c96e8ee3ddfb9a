// Vectors scaled to length 1. pure. Search scores by inner product (the real[] dot_product and
// pgvector's HNSW with vector_ip_ops), which is cosine similarity only for unit-length vectors:
// OpenAI's are, some OpenAI-compatible servers (a local model behind vLLM or Ollama) need not be.
export function unitLength(vector: number[]): number[] {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm === 0 || Math.abs(norm - 1) < 1e-6) return vector;
  return vector.map((x) => x / norm);
}
