// Faults the LlamaParse emulator can inject, set per run (constructor) or at run time
// (POST /_emulator/faults). Counted faults apply to the next N matching calls.
import { z } from 'zod';

export const LlamaParseFaults = z.object({
  /** The next N uploads answer 429; with retryAfterS, a Retry-After header. */
  rateLimit: z
    .object({
      count: z.number().int().min(0),
      retryAfterS: z.number().min(0).optional(),
      retryAfterMs: z.number().min(0).optional(),
    })
    .optional(),
  /** Every upload answers 402 (out of credits) while set. */
  outOfCredits: z.boolean().optional(),
  /** Every call answers 401 while set. */
  unauthorized: z.boolean().optional(),
  /** The next N calls (any endpoint) answer this 5xx status. */
  serverErrors: z
    .object({ count: z.number().int().min(0), status: z.number().int().min(500).max(599).default(503) })
    .optional(),
  /** The next N responses are delayed (to exceed a client timeout). */
  slowResponses: z.object({ count: z.number().int().min(0), delayMs: z.number().int().min(0) }).optional(),
  /** The next N uploads create (and will bill) their job, then drop the connection unanswered. */
  loseUploadAnswers: z.object({ count: z.number().int().min(0) }).optional(),
  /** The next N jobs never leave PENDING. */
  stuckPending: z.object({ count: z.number().int().min(0) }).optional(),
  /** The next N cancelled jobs bill the credits of the pages they were asked for (the real service
   * may bill a job cancelled mid-parse); without it a cancelled job bills nothing. */
  billCancelled: z.object({ count: z.number().int().min(0) }).optional(),
  /** The next N jobs end FAILED with this message. */
  failJobs: z
    .object({ count: z.number().int().min(0), message: z.string().default('ERROR_DURING_PROCESSING') })
    .optional(),
  /** These 1-based pages are reported failed in every job ('all': every page). */
  failPages: z.union([z.array(z.number().int().positive()), z.literal('all')]).optional(),
  webhooks: z
    .object({
      /** Deliver each event this many extra times. */
      duplicates: z.number().int().min(0).optional(),
      /** Also deliver a stale, contradicting event after the final one (e.g. parse.running after success). */
      outOfOrder: z.boolean().optional(),
      /** Never deliver. */
      drop: z.boolean().optional(),
      /** Send a body that is not valid JSON. */
      malformed: z.boolean().optional(),
    })
    .optional(),
});
export type LlamaParseFaults = z.infer<typeof LlamaParseFaults>;
