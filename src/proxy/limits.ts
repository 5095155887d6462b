import { z } from 'zod';

/**
 * What one job may hold of the shared proxy. A job is one container; whatever it does with its
 * socket (thousands of connections, a request flood, slow headers) is bounded here, so it never
 * costs another job its API access. Claude Code itself uses a handful of connections and a few
 * requests a second (more with parallel sub-agents), far below every bound.
 */
export const jobLimitsSchema = z.object({
  /** Open connections per job; at the cap the job's socket stops accepting (the kernel refuses). */
  maxConnections: z.number().int().min(1).max(100_000).default(64),
  /** Requests in flight to the model API per job; more get 429 (Claude Code retries them). */
  maxInFlight: z.number().int().min(1).max(10_000).default(16),
  /** Request rate per job (token bucket); past the burst the job's connections stop being read. */
  requestsPerSecond: z.number().min(0.1).max(100_000).default(20),
  requestBurst: z.number().int().min(1).max(100_000).default(60),
  /** From a connection's first byte (or the end of the last response) to a request's complete headers. */
  headersTimeoutMs: z.number().int().min(100).default(10_000),
  /** To receive a whole request, body included (Claude Code's bodies are MBs at most, over loopback). */
  requestTimeoutMs: z.number().int().min(100).default(120_000),
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: z.number().int().min(100).default(10_000),
  /** No byte either way on a connection for this long ends it (an SSE stream pings far more often). */
  idleTimeoutMs: z
    .number()
    .int()
    .min(100)
    .default(10 * 60_000),
});
export type JobLimits = z.infer<typeof jobLimitsSchema>;
export type JobLimitsInput = z.input<typeof jobLimitsSchema>;

export const DEFAULT_JOB_LIMITS: JobLimits = jobLimitsSchema.parse({});

export function resolveJobLimits(input: JobLimitsInput | undefined): JobLimits {
  const limits = jobLimitsSchema.parse(input ?? {});
  // node:http requires headersTimeout <= requestTimeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) limits.requestTimeoutMs = limits.headersTimeoutMs;
  return limits;
}
