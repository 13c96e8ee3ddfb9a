// Token counting with the embedding model's tokenizer. js-tiktoken ships its encodings, so this
// works offline. OpenAI's embedding models (and our local embedder, by convention) use cl100k_base.
import { getEncoding, type Tiktoken } from 'js-tiktoken';

let encoder: Tiktoken | undefined;

export function countTokens(text: string): number {
  encoder ??= getEncoding('cl100k_base');
  return encoder.encode(text).length;
}
