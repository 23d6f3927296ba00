import { RequestTimeoutError } from '../errors'
import { sleep } from '../signals'
import type { ExecutionContext, RequestState } from './context'

/** When the request is over, throws why: the caller's abort reason, or a RequestTimeoutError for the deadline. */
export function rethrowIfOver(context: ExecutionContext, request: RequestState): void {
  if (request.signal?.aborted) throw request.signal.reason
  if (context.clock.now() >= request.deadline)
    throw new RequestTimeoutError(request.target, request.attempts, request.timeoutMs)
}

/** Waits `ms` (bounded by the deadline); throws when the request ends meanwhile. */
export async function pause(context: ExecutionContext, request: RequestState, ms: number): Promise<void> {
  const wait = Math.min(ms, Math.max(0, request.deadline - context.clock.now()))
  try {
    await sleep(context.clock, wait, request.signal)
  } catch {
    rethrowIfOver(context, request)
  }
}
