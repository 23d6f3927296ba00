/**
 * The chaos run (see chaos.ts): short in `pnpm test` (CHAOS_SECONDS, default 16), longer with `pnpm chaos`.
 */
import { expect, test } from 'vitest'
import { LIMITS, runChaos } from './chaos'

const seconds = Number(process.env.CHAOS_SECONDS ?? 16)

test(`chaos for ${seconds} s: three gateways, one Redis, kill -9, a Redis restart, a reload storm, hostile clients`, {
  timeout: (seconds + 60) * 1000,
}, async () => {
  const report = await runChaos({ seconds, log: (line) => console.log(`chaos: ${line}`) })
  console.log(`chaos figures: ${JSON.stringify(report)}`)
  // Every good request was answered, or refused with a retryable status and retry-after — except those in flight to
  // the gateway at the moment it was killed.
  expect(report.good.other).toEqual([])
  expect(report.good.answered).toBeGreaterThan(report.good.total / 2)
  expect(report.good.refusedRetryable).toBeGreaterThan(0) // the Redis outage: 503 limits_unavailable
  // Every hostile request was refused as the client's mistake.
  expect(report.hostile.other).toEqual([])
  expect(report.hostile.refused4xx).toBeGreaterThan(0)
  // The upstream never saw more than the configured limits.
  for (const figures of Object.values(report.upstream)) {
    expect(figures.maxInFlight).toBeLessThanOrEqual(LIMITS.concurrency)
    expect(figures.busiestMinute).toBeLessThanOrEqual(LIMITS.rpm)
  }
  // No breaker opened without an upstream failure: the steady models (no faults) never tripped.
  for (const [instance, trips] of Object.entries(report.breakerTrips)) {
    if (trips > 0) expect(instance).toMatch(/flaky/)
  }
  expect(report.upstream.flaky!.failed + report.upstream['steady-a']!.arrivals).toBeGreaterThan(0)
  // The storm: many truncated writes, some rejected reloads, and no configuration without targets ever served
  // (it would have answered 404, which good.other would hold).
  expect(report.reloads.writes).toBeGreaterThan(4)
})
