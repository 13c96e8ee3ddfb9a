// Lines with due messages and no live task, queued again (SQL requeue_stranded_webhook_lines).
import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';

export async function requeueStrandedLines(db: CommonQueryMethods): Promise<number> {
  return db.oneFirst(sql.type(z.object({ n: z.number() }))`select requeue_stranded_webhook_lines() as n`);
}
