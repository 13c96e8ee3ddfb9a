// Per-upload callbacks: a callback is a subscription (callback = true) that hears only about the
// jobs of its request. Linking happens in intake's transaction, before the job's first move.
import { sql, type CommonQueryMethods } from 'slonik';

export async function linkJobToCallback(tx: CommonQueryMethods, subscriptionId: number, jobId: string) {
  await tx.query(sql.unsafe`
    insert into webhook_subscription_jobs (job_id, subscription_id) values (${jobId}::uuid, ${subscriptionId})`);
}

/** A callback whose request had no accepted file is of no use: removed. */
export async function removeCallbackWithoutJobs(db: CommonQueryMethods, subscriptionId: number) {
  await db.query(sql.unsafe`
    delete from webhook_subscriptions s where s.id = ${subscriptionId} and s.callback
      and not exists (select 1 from webhook_subscription_jobs l where l.subscription_id = s.id)`);
}
