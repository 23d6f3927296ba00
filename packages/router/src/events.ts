import type { FailureKind } from '@llmpool/breaker'
import type { CircuitState } from '@llmpool/breaker'

/** What the router reports while it works. Every event carries the time (`at`, clock ms). */
export type RouterEvent =
  | { type: 'request_start'; at: number; requestId: number; target: string; stream: boolean }
  | { type: 'attempt_start'; at: number; requestId: number; target: string; pool?: string; instance: string; retry: number }
  | {
      type: 'attempt_end'
      at: number
      requestId: number
      target: string
      pool?: string
      instance: string
      retry: number
      durationMs: number
      ok: boolean
      error?: { kind: FailureKind; message: string; statusCode?: number }
      /** Streams: time to the first content part. */
      timeToFirstTokenMs?: number
      inputTokens?: number
      outputTokens?: number
    }
  | {
      /** A committed stream ended: cleanly, or with an error part. */
      type: 'stream_end'
      at: number
      requestId: number
      target: string
      instance: string
      durationMs: number
      ok: boolean
      error?: { kind: FailureKind; message: string }
      inputTokens?: number
      outputTokens?: number
    }
  | { type: 'retry'; at: number; requestId: number; instance: string; retry: number; delayMs: number; kind: FailureKind }
  | { type: 'fallback'; at: number; requestId: number; target: string; from: string; kind: FailureKind; toPool?: string }
  | { type: 'rate_limited'; at: number; requestId: number; target: string; retryAfterMs: number; waiting: boolean }
  | { type: 'breaker_change'; at: number; instance: string; from: CircuitState; to: CircuitState; reason: string }
  | { type: 'health_change'; at: number; instance: string; healthy: boolean; reason: string }
  | {
      type: 'request_end'
      at: number
      requestId: number
      target: string
      durationMs: number
      ok: boolean
      /** The instance that answered. */
      instance?: string
      attempts: number
      /** The router error code when it failed. */
      error?: string
      cached?: boolean
    }

export type RouterEventListener = (event: RouterEvent) => void
