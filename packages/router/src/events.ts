import type { FailureKind } from '@llmpool/breaker'
import type { CircuitState } from '@llmpool/breaker'

/** What the router reports while it works. Every event carries the time (`at`, clock ms). */
export type RouterEvent =
  | {
      type: 'request_start'
      at: number
      requestId: number
      /** The pool or task group routed to. */
      target: string
      /** The name called: a wrapper, or the pool or task group itself. */
      entry: string
      stream: boolean
      /** `embeddings` for `router.embed`; absent for a language-model call (generate, stream). */
      operation?: 'embeddings'
    }
  | {
      type: 'attempt_start'
      at: number
      requestId: number
      target: string
      pool?: string
      instance: string
      retry: number
      hedge?: boolean
      operation?: 'embeddings'
    }
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
      /** A hedged call. */
      hedge?: boolean
      /** Stopped by the router: another call of the request answered first. */
      cancelled?: boolean
      /** `embeddings` for an embedding call (its `inputTokens` are the embedded tokens; no `outputTokens`). */
      operation?: 'embeddings'
    }
  | {
      /** A committed stream ended: cleanly, with an error part, or because the caller cancelled it. */
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
      /** The caller stopped reading before the finish part (`ok`: not the upstream's failure). */
      cancelled?: boolean
    }
  | {
      type: 'retry'
      at: number
      requestId: number
      instance: string
      retry: number
      delayMs: number
      kind: FailureKind
    }
  | {
      type: 'fallback'
      at: number
      requestId: number
      target: string
      from: string
      kind: FailureKind
      toPool?: string
    }
  | {
      /** Hedging: a call ran longer than `hedge_after`, so the next instance is called too. */
      type: 'hedge'
      at: number
      requestId: number
      target: string
      /** The instance still running. */
      from: string
      /** The instance called in addition. */
      to: string
      afterMs: number
    }
  | {
      /** An instance rests: its upstream said "not now" (429, 529) or refused its key; every request skips it until then. */
      type: 'cooldown'
      at: number
      instance: string
      kind: 'rate_limit' | 'overloaded' | 'auth' | 'quota_exhausted'
      durationMs: number
      reason: string
      /** Set by another process through shared cooldowns. */
      remote: boolean
      /** The request whose upstream call put the instance to rest; absent for a cooldown from another process. */
      requestId?: number
    }
  | { type: 'rate_limited'; at: number; requestId: number; target: string; retryAfterMs: number; waiting: boolean }
  | { type: 'breaker_change'; at: number; instance: string; from: CircuitState; to: CircuitState; reason: string }
  | { type: 'health_change'; at: number; instance: string; healthy: boolean; reason: string }
  | {
      type: 'request_end'
      at: number
      requestId: number
      target: string
      entry: string
      durationMs: number
      ok: boolean
      /** The instance that answered. */
      instance?: string
      attempts: number
      /** The router error code when it failed. */
      error?: string
      cached?: boolean
      /** `embeddings` for `router.embed`. */
      operation?: 'embeddings'
    }

export type RouterEventListener = (event: RouterEvent) => void
