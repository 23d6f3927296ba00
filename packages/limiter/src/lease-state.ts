/**
 * Where a lease is: `held` from the grant until `release()` (`released`: a concurrency permit is back, rate capacity
 * stays spent) or `cancel()` (`cancelled`: everything is back, as far as the limiter can). A released lease can still
 * be cancelled, which refunds the rate capacity alone; a cancelled one ignores both calls.
 */
export type LeaseState = 'held' | 'released' | 'cancelled'
