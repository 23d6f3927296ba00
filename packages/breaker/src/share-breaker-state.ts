import type { Disposable } from '@llmpool/schema'
import { createRedisBreakerGroup, type RedisBreakerGroupOptions, type ShareableBreaker } from './redis-breaker-group'

/** Options of `shareBreakerState()`: a group's options plus the shared name. */
export interface ShareBreakerStateOptions extends RedisBreakerGroupOptions {
  /** The name the breaker is shared under; default `breaker.name`. Breakers with the same name share state. */
  name?: string
}

/** One breaker's sharing, from `shareBreakerState()`. */
export interface SharedBreakerState extends Disposable {
  /** Hears Redis problems; the breaker keeps working locally meanwhile. */
  onError(listener: (error: Error) => void): Disposable
  /** Stops sharing and closes the connections opened for it. */
  dispose(): Promise<void>
}

/**
 * Shares one breaker's openings and closings through Redis: a one-breaker `RedisBreakerGroup`. For many breakers,
 * create one group and `add()` each, so they share one subscriber connection.
 */
export async function shareBreakerState(
  breaker: ShareableBreaker,
  options: ShareBreakerStateOptions,
): Promise<SharedBreakerState> {
  const group = await createRedisBreakerGroup(options)
  try {
    await group.add(breaker, options.name)
  } catch (error) {
    await group.dispose()
    throw error
  }
  return { onError: (listener) => group.onError(listener), dispose: () => group.dispose() }
}
