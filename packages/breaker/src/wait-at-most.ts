import { type Clock, unref } from '@llmpool/schema'

/** Resolves true when `promise` settles within `ms`, false when the time runs out first. Never rejects. */
export async function waitAtMost(promise: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  let timer: unknown
  const timeout = new Promise<false>((resolve) => {
    timer = clock.setTimeout(() => resolve(false), ms)
    unref(timer)
  })
  const settled = promise.then(
    () => true as const,
    () => true as const,
  )
  try {
    return await Promise.race([settled, timeout])
  } finally {
    clock.clearTimeout(timer)
  }
}
