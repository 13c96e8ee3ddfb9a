import test, { type ExecutionContext } from 'ava';
import OpenAI from 'openai';
import { EmbeddingEmulator, type EmbeddingEmulatorOptions } from '../emulators/embeddings.ts';
import { createOpenAIProvider } from '../lib/embed/openaiProvider.ts';
import { createLocalProvider } from '../lib/embed/localProvider.ts';
import { hashingEmbedding } from '../lib/embed/hashingEmbedder.ts';
import { StageError } from '../lib/errors.ts';
import { countTokens } from '../lib/chunk/tokenizer.ts';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** An embeddings emulator for the test, stopped with it. */
async function startEmulator(t: ExecutionContext, options?: EmbeddingEmulatorOptions) {
  const emulator = new EmbeddingEmulator(options);
  await emulator.start();
  t.teardown(() => emulator.stop());
  return emulator;
}

/** Our provider on the emulator's text-embedding-3-small. */
const providerFor = (emulator: EmbeddingEmulator, options: { dimensions?: number; timeoutMs: number }) =>
  createOpenAIProvider({ apiKey: 'sk-emulator', baseURL: emulator.url, model: 'text-embedding-3-small', ...options });

test('the local embedder is deterministic, L2-normalised, and lexical', async (t) => {
  const local = createLocalProvider(256);
  const { vectors } = await local.embed([
    'The quick brown fox',
    'The quick brown fox',
    'a quick brown dog',
    'quantum chromodynamics lattice',
  ]);
  t.deepEqual(vectors[0], vectors[1]);
  t.true(Math.abs(dot(vectors[0]!, vectors[0]!) - 1) < 1e-9);
  t.true(dot(vectors[0]!, vectors[2]!) > dot(vectors[0]!, vectors[3]!));
  t.is(vectors[0]!.length, 256);
  t.deepEqual(hashingEmbedding('', 8), Array(8).fill(0));
});

test('the official openai SDK talks to the emulator (base64 by default), usage counted with cl100k_base', async (t) => {
  const emulator = await startEmulator(t);
  const client = new OpenAI({ apiKey: 'sk-emulator', baseURL: emulator.url, maxRetries: 0 });
  const texts = ['hello world', 'pipelines in postgres'];
  const response = await client.embeddings.create({ model: 'text-embedding-3-small', input: texts, dimensions: 64 });
  t.is(response.data.length, 2);
  t.is(response.data[0]!.embedding.length, 64);
  t.true(Math.abs(response.data[0]!.embedding[0]! - hashingEmbedding('hello world', 64)[0]!) < 1e-6);
  t.is(response.usage.prompt_tokens, countTokens(texts[0]!) + countTokens(texts[1]!));
});

test('our provider batches through the SDK and classifies failures', async (t) => {
  const emulator = await startEmulator(t);
  const provider = providerFor(emulator, { dimensions: 32, timeoutMs: 2500 });
  const ok = await provider.embed(['a b c', 'd e f']);
  t.is(ok.vectors.length, 2);
  t.is(ok.promptTokens, countTokens('a b c') + countTokens('d e f'));
  emulator.faults = { rateLimit: { count: 1, retryAfterS: 3 } };
  let error = (await t.throwsAsync(provider.embed(['x']))) as StageError;
  t.is(error.errorClass, 'transient');
  t.is(error.retryAfterMs, 3000);
  emulator.faults = { serverErrors: { count: 1, status: 500 } };
  error = (await t.throwsAsync(provider.embed(['x']))) as StageError;
  t.is(error.errorClass, 'transient');
  emulator.faults = { slowResponses: { count: 1, delayMs: 3500 } };
  error = (await t.throwsAsync(provider.embed(['x']))) as StageError;
  t.is(error.errorClass, 'transient');
  emulator.faults = { unauthorized: true };
  error = (await t.throwsAsync(provider.embed(['x']))) as StageError;
  t.is(error.errorClass, 'permanent');
  t.regex(error.message, /401/);
});

test('a dimension mismatch is a permanent configuration error', async (t) => {
  const emulator = await startEmulator(t, { defaultDimensions: 16 });
  const provider = providerFor(emulator, { timeoutMs: 2000 });
  const error = (await t.throwsAsync(provider.embed(['x']))) as StageError;
  t.is(error.errorClass, 'permanent');
  t.regex(error.message, /EMBEDDINGS_DIMENSIONS/);
});
