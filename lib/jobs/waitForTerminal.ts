// Waits until every job is in a terminal state (complete or failed); throws after the timeout
// naming the jobs still moving.
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { isTerminal } from './stages.ts';

const StateRow = z.object({
  id: z.string(),
  state: z.string(),
  last_error: z.string().nullable(),
  file_name: z.string(),
});
export type JobStateRow = z.infer<typeof StateRow>;

export async function waitForTerminal(
  pool: DatabasePool,
  ids: string[],
  timeoutMs = 60_000,
): Promise<Record<string, JobStateRow>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rows = await pool.any(
      sql.type(
        StateRow,
      )`select id::text, state::text, last_error, file_name from jobs where id = any(${sql.array(ids, 'uuid')})`,
    );
    if (rows.every((r) => isTerminal(r.state))) return Object.fromEntries(rows.map((r) => [r.id, r]));
    if (Date.now() > end)
      throw new Error(
        `jobs not terminal after ${timeoutMs} ms: ${rows
          .filter((r) => !isTerminal(r.state))
          .map((r) => `${r.file_name}=${r.state}`)
          .join(', ')}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
