// The events a webhook subscription can ask for: the rows of webhook_event_types (migration
// 000040; a test checks that the two lists agree). Job events carry the job's sequence number.
import { z } from 'zod';

export const JOB_EVENTS = ['job.state_changed', 'job.complete', 'job.failed'] as const;
export const ALERT_EVENTS = ['budget.alert', 'breaker.open'] as const;
export const EVENT_TYPES = [...JOB_EVENTS, ...ALERT_EVENTS] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a per-upload callback receives when the request names no events. */
export const CALLBACK_DEFAULT_EVENTS: readonly EventType[] = ['job.complete', 'job.failed'];

export const EventList = z
  .array(z.enum(EVENT_TYPES))
  .min(1, 'at least one event')
  .transform((events) => [...new Set(events)].sort());

export const CallbackEventList = z
  .array(z.enum(JOB_EVENTS, { error: `callbacks take ${JOB_EVENTS.join(', ')}` }))
  .min(1, 'at least one event')
  .transform((events) => [...new Set(events)].sort());

/** "a,b c" -> ['a', 'b', 'c'] (CLI flags and form fields). */
export const splitList = (text: string) => text.split(/[\s,]+/).filter(Boolean);
