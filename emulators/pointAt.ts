// The environment that points tvdb at running emulators: LlamaParse (fast tier) and an OpenAI
// embeddings API (text-embedding-3-small at the given dimensions), with the keys they accept by
// default. For tests and benchmarks; spread it into the rest of their environment.
export function pointAt(
  emulators: { llamaparse: { url: string }; embeddings: { url: string } },
  dimensions: number,
): Record<string, string> {
  return {
    LLAMA_CLOUD_API_KEY: 'llx-emulator',
    LLAMA_CLOUD_BASE_URL: emulators.llamaparse.url,
    LLAMAPARSE_TIER: 'fast',
    EMBEDDINGS_PROVIDER: 'openai',
    EMBEDDINGS_API_KEY: 'sk-emulator',
    EMBEDDINGS_BASE_URL: emulators.embeddings.url,
    EMBEDDINGS_MODEL: 'text-embedding-3-small',
    EMBEDDINGS_DIMENSIONS: String(dimensions),
  };
}
