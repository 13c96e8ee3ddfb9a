// Query text written out in full (tests and benchmarks only: no input from outside) in the shape
// slonik's tags take, a frozen template strings array: `sql.unsafe(written(q))`, `sql.type(T)(written(q))`.
import { sql } from 'slonik';

export function written(query: string): TemplateStringsArray {
  return Object.freeze(Object.assign([query], { raw: Object.freeze([query]) })) as unknown as TemplateStringsArray;
}

export const writtenSql = (query: string) => sql.unsafe(written(query));
