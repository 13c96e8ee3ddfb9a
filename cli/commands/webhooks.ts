import type { DatabasePool } from 'slonik';
import { parseCommandArgs, UsageError, type Command } from '../command.ts';
import { withRuntime } from '../runtime.ts';
import { duration, table } from '../../lib/format.ts';
import { addSubscription, SubscriptionInputError } from '../../lib/outbox/addSubscription.ts';
import { EVENT_TYPES, EventList, splitList } from '../../lib/outbox/eventTypes.ts';
import { readDeliveryLog, type LogEntry } from '../../lib/outbox/deliveryLog.ts';
import { publishTestEvent, replayMessages } from '../../lib/outbox/messages.ts';
import {
  disableSubscription,
  enableSubscription,
  getSubscription,
  listSubscriptions,
  removeSubscription,
  type SubscriptionRow,
} from '../../lib/outbox/subscriptions.ts';

const command: Command = {
  usage: `Usage: tvdb webhooks add <url> [--events e1,e2] [--description text] [--json]
       tvdb webhooks list [--callbacks] [--json]
       tvdb webhooks remove <id>
       tvdb webhooks enable <id> | disable <id>
       tvdb webhooks test <id> [--wait S]
       tvdb webhooks log [<id>] [--limit N] [--json]
       tvdb webhooks replay <id> [--event <webhook-id>] [--since <ISO time>] [--all]

Subscriptions call a URL back with signed events (Standard Webhooks: webhook-id, webhook-timestamp,
webhook-signature), retried with backoff for TVDB_WEBHOOK_RETRY_FOR_H hours, in order per job.
Events: ${EVENT_TYPES.join(', ')} (default: all).
add prints the signing secret (whsec_...) once: keep it to verify deliveries.
test queues a signed webhook.test delivery and waits (30 s) for a worker to send it.
log shows delivery attempts, newest first (all subscriptions without an id).
replay sends a subscription's failed and cancelled messages again (--all: delivered ones too),
with their original webhook-id; a disabled subscription must be enabled first.
Deliveries are made by workers ("tvdb serve" or "tvdb worker").`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      options: {
        events: { type: 'string' },
        description: { type: 'string' },
        callbacks: { type: 'boolean' },
        json: { type: 'boolean' },
        wait: { type: 'string' },
        limit: { type: 'string' },
        event: { type: 'string' },
        since: { type: 'string' },
        all: { type: 'boolean' },
      },
      allowPositionals: true,
    });
    const [action, arg] = positionals;
    const id = () => {
      const n = Number(arg);
      if (!arg || !Number.isInteger(n) || n <= 0) throw new UsageError(`webhooks ${action} takes a subscription id`);
      return n;
    };
    const out = (text: string) => process.stdout.write(text);
    switch (action) {
      case 'add': {
        if (!arg) throw new UsageError('webhooks add takes a URL');
        const events = EventList.safeParse(values.events ? splitList(values.events) : EVENT_TYPES);
        if (!events.success) throw new UsageError(`--events takes ${EVENT_TYPES.join(', ')}`);
        return withRuntime({ poolSize: 1 }, async ({ pool, config }) => {
          try {
            const created = await addSubscription(
              pool,
              { url: arg, events: events.data, description: values.description },
              { allowPrivate: config.TVDB_WEBHOOK_ALLOW_PRIVATE },
            );
            if (values.json)
              out(JSON.stringify({ id: created.id, url: arg, events: events.data, secret: created.secret }) + '\n');
            else
              out(
                `subscription ${created.id}: ${arg}\nevents: ${events.data.join(', ')}\n` +
                  `secret: ${created.secret}\n(shown only now: verify deliveries with it, e.g. the standardwebhooks package)\n`,
              );
            return 0;
          } catch (error) {
            if (!(error instanceof SubscriptionInputError)) throw error;
            process.stderr.write(`tvdb webhooks: refused: ${error.message}\n`);
            return 1;
          }
        });
      }
      case 'list':
        return withRuntime({ poolSize: 1 }, async ({ pool }) => {
          const rows = await listSubscriptions(pool, { callbacks: values.callbacks });
          if (values.json) out(JSON.stringify(rows) + '\n');
          else if (!rows.length) out('no webhook subscriptions ("tvdb webhooks add <url>")\n');
          else out(subscriptionTable(rows));
          return 0;
        });
      case 'remove':
      case 'enable':
      case 'disable': {
        const n = id();
        return withRuntime({ poolSize: 1 }, async ({ pool }) => {
          const done =
            action === 'remove'
              ? await removeSubscription(pool, n)
              : action === 'enable'
                ? await enableSubscription(pool, n)
                : await disableExisting(pool, n);
          if (!done) {
            process.stderr.write(`tvdb webhooks: no subscription ${n}\n`);
            return 1;
          }
          out(`subscription ${n} ${action === 'remove' ? 'removed' : `${action}d`}\n`);
          return 0;
        });
      }
      case 'test': {
        const n = id();
        const waitS = values.wait === undefined ? 30 : Number(values.wait);
        if (!Number.isFinite(waitS) || waitS < 0) throw new UsageError('--wait takes seconds');
        return withRuntime({ poolSize: 1 }, async ({ pool, stopping }) => {
          const sub = await getSubscription(pool, n);
          if (!sub) return (process.stderr.write(`tvdb webhooks: no subscription ${n}\n`), 1);
          if (!sub.enabled)
            return (
              process.stderr.write(`tvdb webhooks: subscription ${n} is disabled ("tvdb webhooks enable ${n}")\n`),
              1
            );
          const queued = await publishTestEvent(pool, n);
          out(`queued webhook.test ${queued.webhook_id} for ${sub.url}\n`);
          const end = Date.now() + waitS * 1000;
          let stopped = false;
          void stopping.then(() => (stopped = true));
          while (Date.now() < end && !stopped) {
            const [first] = await readDeliveryLog(pool, { webhookId: queued.webhook_id, limit: 1 });
            if (first) {
              out(logTable([first]));
              return first.outcome === 'delivered' ? 0 : 1;
            }
            await new Promise((r) => setTimeout(r, 250));
          }
          process.stderr.write(
            `no worker sent it within ${waitS} s: is "tvdb serve" or "tvdb worker" running? It stays queued; see "tvdb webhooks log ${n}"\n`,
          );
          return 1;
        });
      }
      case 'log': {
        const limit = values.limit === undefined ? 50 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit takes a positive number');
        const subscriptionId = arg === undefined ? undefined : id();
        return withRuntime({ poolSize: 1 }, async ({ pool }) => {
          const rows = await readDeliveryLog(pool, { subscriptionId, limit });
          if (values.json) out(JSON.stringify(rows) + '\n');
          else if (!rows.length) out('no delivery attempts yet\n');
          else out(logTable(rows));
          return 0;
        });
      }
      case 'replay': {
        const n = id();
        const since = values.since === undefined ? undefined : new Date(values.since);
        if (since && Number.isNaN(since.getTime())) throw new UsageError('--since takes an ISO 8601 time');
        return withRuntime({ poolSize: 1 }, async ({ pool }) => {
          const sub = await getSubscription(pool, n);
          if (!sub) return (process.stderr.write(`tvdb webhooks: no subscription ${n}\n`), 1);
          if (!sub.enabled)
            return (
              process.stderr.write(
                `tvdb webhooks: subscription ${n} is disabled ("tvdb webhooks enable ${n}" first)\n`,
              ),
              1
            );
          const replayed = await replayMessages(pool, n, {
            statuses: values.all ? ['failed', 'cancelled', 'delivered'] : ['failed', 'cancelled'],
            webhookId: values.event,
            since,
          });
          out(`${replayed} message(s) queued again for subscription ${n}\n`);
          return 0;
        });
      }
      default:
        throw new UsageError('say add, list, remove, enable, disable, test, log or replay');
    }
  },
};
export default command;

/** Disabling an already disabled subscription is fine; a missing one is not. */
async function disableExisting(pool: DatabasePool, id: number) {
  if (!(await getSubscription(pool, id))) return false;
  await disableSubscription(pool, id, 'disabled with tvdb webhooks disable');
  return true;
}

const ago = (at: number | null) => (at === null ? null : `${duration((Date.now() - at) / 1000)} ago`);

function subscriptionTable(rows: readonly SubscriptionRow[]) {
  return table(
    ['id', 'url', 'events', 'state', 'pending', 'delivered', 'failed', 'last success', 'failing since'],
    rows.map((s) => [
      s.id,
      s.url,
      s.events.length === EVENT_TYPES.length ? 'all' : s.events.join(','),
      s.enabled ? (s.callback ? 'callback' : 'enabled') : `disabled: ${s.disabled_reason ?? ''}`.slice(0, 60),
      s.pending,
      s.delivered,
      s.failed + s.cancelled,
      ago(s.last_success_at),
      ago(s.failing_since),
    ]),
  );
}

function logTable(rows: readonly LogEntry[]) {
  return table(
    ['at', 'sub', 'webhook-id', 'type', 'job', 'seq', 'try', 'outcome', 'status', 'ms', 'message', 'answer'],
    rows.map((r) => [
      new Date(r.at).toISOString().slice(11, 23),
      r.subscription_id,
      r.webhook_id,
      r.type,
      r.job_id ? r.job_id.slice(0, 8) : null,
      r.sequence,
      r.attempt,
      r.outcome,
      r.http_status,
      r.latency_ms,
      r.message_status,
      (r.error ?? r.response_excerpt ?? '').replace(/\s+/g, ' ').slice(0, 60) || null,
    ]),
  );
}
