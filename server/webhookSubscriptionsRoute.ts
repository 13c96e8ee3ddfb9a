// /v1/webhooks: subscriptions to the pipeline's events (the HTTP side of `tvdb webhooks`). Behind
// the bearer token. The secret is returned once, when a subscription is created.
import type { Polka, Request, Response, Middleware } from 'polka';
import { z } from 'zod';
import { addSubscription, SubscriptionInputError } from '../lib/outbox/addSubscription.ts';
import { EVENT_TYPES, JOB_EVENTS } from '../lib/outbox/eventTypes.ts';
import { readDeliveryLog } from '../lib/outbox/deliveryLog.ts';
import { publishTestEvent, replayMessages } from '../lib/outbox/messages.ts';
import {
  enableSubscription,
  disableSubscription,
  getSubscription,
  listSubscriptions,
  removeSubscription,
  setSubscriptionEvents,
} from '../lib/outbox/subscriptions.ts';
import type { ServerContext } from './context.ts';
import { fail, json } from './http.ts';
import { parsed, readJsonBody } from './jsonBody.ts';
import { declareRoute, errorResponses } from './routeRegistry.ts';
import {
  CreatedSubscription,
  DeliveryAttempt,
  ListQuery,
  LogQuery,
  NewSubscription,
  ReplayRequest,
  Subscription,
  SubscriptionId,
  SubscriptionPatch,
  TestQueued,
} from './webhookSchemas.ts';

type Handler = (req: Request, res: Response) => Promise<void>;

export function mountWebhookSubscriptionRoutes(app: Polka, ctx: ServerContext, auth: Middleware) {
  const allowPrivate = ctx.outbound?.allowPrivate ?? false;
  /** The subscription named by :id, or a 400/404 already sent. */
  const named = async (req: Request, res: Response) => {
    const params = parsed(res, SubscriptionId, req.params);
    if (!params) return undefined;
    const found = await getSubscription(ctx.pool, params.id);
    if (!found) fail(res, 404, 'not_found', `no webhook subscription ${params.id}`);
    return found ?? undefined;
  };
  const refuseDisabled = (res: Response, id: number) =>
    fail(res, 409, 'disabled', `subscription ${id} is disabled; enable it first (PATCH {"enabled": true})`);
  /** The subscription named in the path and the request's JSON body, or undefined once answered. */
  const namedWithBody = async <T>(req: Request, res: Response, schema: z.ZodType<T>) => {
    const found = await named(req, res);
    const body = found && (await readJsonBody(req, res, schema));
    return found && body ? { found, body } : undefined;
  };
  const routes: Array<[string, string, Handler]> = [
    [
      'get',
      '/v1/webhooks',
      async (req, res) => {
        const query = parsed(res, ListQuery, req.query);
        if (!query) return;
        json(res, 200, { subscriptions: await listSubscriptions(ctx.pool, { callbacks: query.callbacks === 'true' }) });
      },
    ],
    [
      'post',
      '/v1/webhooks',
      async (req, res) => {
        const body = await readJsonBody(req, res, NewSubscription);
        if (!body) return;
        try {
          const { id, secret } = await addSubscription(
            ctx.pool,
            { url: body.url, events: body.events ?? EVENT_TYPES, description: body.description },
            { allowPrivate },
          );
          ctx.log.info({ subscription_id: id, host: new URL(body.url).host }, 'webhook subscription added');
          json(res, 201, { subscription: await getSubscription(ctx.pool, id), secret });
        } catch (error) {
          if (error instanceof SubscriptionInputError) return fail(res, 400, 'bad_request', error.message);
          throw error;
        }
      },
    ],
    [
      'get',
      '/v1/webhooks/:id',
      async (req, res) => {
        const found = await named(req, res);
        if (found) json(res, 200, found);
      },
    ],
    [
      'patch',
      '/v1/webhooks/:id',
      async (req, res) => {
        const request = await namedWithBody(req, res, SubscriptionPatch);
        if (!request) return;
        const { found, body: patch } = request;
        if (patch.events && found.callback && patch.events.some((e) => !(JOB_EVENTS as readonly string[]).includes(e)))
          return fail(res, 400, 'bad_request', `events: callbacks take ${JOB_EVENTS.join(', ')}`);
        if (patch.events) await setSubscriptionEvents(ctx.pool, found.id, patch.events);
        if (patch.enabled === true) await enableSubscription(ctx.pool, found.id);
        if (patch.enabled === false) await disableSubscription(ctx.pool, found.id, 'disabled through the API');
        json(res, 200, await getSubscription(ctx.pool, found.id));
      },
    ],
    [
      'delete',
      '/v1/webhooks/:id',
      async (req, res) => {
        const found = await named(req, res);
        if (!found) return;
        await removeSubscription(ctx.pool, found.id);
        res.writeHead(204).end();
      },
    ],
    [
      'post',
      '/v1/webhooks/:id/test',
      async (req, res) => {
        const found = await named(req, res);
        if (!found) return;
        if (!found.enabled) return refuseDisabled(res, found.id);
        const queued = await publishTestEvent(ctx.pool, found.id);
        json(res, 202, { webhook_id: queued.webhook_id, message_id: queued.message_id });
      },
    ],
    [
      'get',
      '/v1/webhooks/:id/log',
      async (req, res) => {
        const query = parsed(res, LogQuery, req.query);
        if (!query) return;
        const found = await named(req, res);
        if (!found) return;
        json(res, 200, { attempts: await readDeliveryLog(ctx.pool, { subscriptionId: found.id, limit: query.limit }) });
      },
    ],
    [
      'post',
      '/v1/webhooks/:id/replay',
      async (req, res) => {
        const request = await namedWithBody(req, res, ReplayRequest);
        if (!request) return;
        const { found, body } = request;
        if (!found.enabled) return refuseDisabled(res, found.id);
        const replayed = await replayMessages(ctx.pool, found.id, {
          statuses: body.status,
          webhookId: body.webhook_id,
          since: body.since ? new Date(body.since) : undefined,
        });
        json(res, 200, { replayed });
      },
    ],
  ];
  for (const [method, path, handler] of routes)
    (app as unknown as Record<string, (path: string, ...h: unknown[]) => void>)[method]!(path, auth, handler);
}

const tags = ['webhooks'];
const Id = { params: SubscriptionId };
declareRoute({
  method: 'get',
  path: '/v1/webhooks',
  summary: 'list webhook subscriptions',
  tags,
  security: 'bearer',
  request: { query: ListQuery },
  responses: {
    200: { description: 'the subscriptions', schema: z.object({ subscriptions: z.array(Subscription) }) },
    ...errorResponses(400, 401, 503),
  },
});
declareRoute({
  method: 'post',
  path: '/v1/webhooks',
  summary: 'subscribe a URL to events; the secret is in this answer only',
  tags,
  security: 'bearer',
  request: { body: { contentType: 'application/json', schema: NewSubscription } },
  responses: {
    201: { description: 'created', schema: CreatedSubscription },
    ...errorResponses(400, 401, 413, 415, 503),
  },
});
declareRoute({
  method: 'get',
  path: '/v1/webhooks/:id',
  summary: 'one subscription',
  tags,
  security: 'bearer',
  request: Id,
  responses: { 200: { description: 'the subscription', schema: Subscription }, ...errorResponses(400, 401, 404, 503) },
});
declareRoute({
  method: 'patch',
  path: '/v1/webhooks/:id',
  summary: 'enable or disable a subscription, or change its events',
  description: 'Disabling cancels its pending messages (replay sends them again); enabling clears its failure streak.',
  tags,
  security: 'bearer',
  request: { ...Id, body: { contentType: 'application/json', schema: SubscriptionPatch } },
  responses: {
    200: { description: 'the subscription', schema: Subscription },
    ...errorResponses(400, 401, 404, 413, 415, 503),
  },
});
declareRoute({
  method: 'delete',
  path: '/v1/webhooks/:id',
  summary: 'remove a subscription, its pending messages and its log',
  tags,
  security: 'bearer',
  request: Id,
  responses: { 204: { description: 'removed' }, ...errorResponses(400, 401, 404, 503) },
});
declareRoute({
  method: 'post',
  path: '/v1/webhooks/:id/test',
  summary: 'queue a signed webhook.test delivery (see the log for how it went)',
  tags,
  security: 'bearer',
  request: Id,
  responses: { 202: { description: 'queued', schema: TestQueued }, ...errorResponses(400, 401, 404, 409, 503) },
});
declareRoute({
  method: 'get',
  path: '/v1/webhooks/:id/log',
  summary: 'the delivery log: attempts, newest first',
  tags,
  security: 'bearer',
  request: { ...Id, query: LogQuery },
  responses: {
    200: { description: 'attempts', schema: z.object({ attempts: z.array(DeliveryAttempt) }) },
    ...errorResponses(400, 401, 404, 503),
  },
});
declareRoute({
  method: 'post',
  path: '/v1/webhooks/:id/replay',
  summary: 'send messages again (by default the failed and cancelled ones), with their original webhook-id',
  tags,
  security: 'bearer',
  request: { ...Id, body: { contentType: 'application/json', schema: ReplayRequest, required: false } },
  responses: {
    200: { description: 'how many messages were queued again', schema: z.object({ replayed: z.number().int() }) },
    ...errorResponses(400, 401, 404, 409, 413, 415, 503),
  },
});
