import { describe, expect, it } from 'vitest'
import { FakeClock, flushMicrotasks } from '../src/index'

describe('FakeClock', () => {
  it('starts at the given time and moves only when told', async () => {
    const clock = new FakeClock(5_000)
    expect(clock.now()).toBe(5_000)
    clock.tick(10)
    await clock.advance(15)
    expect(clock.now()).toBe(5_025)
  })

  it('runs due timers in time order, ties in creation order, each at its own time', () => {
    const clock = new FakeClock(0)
    const fired: string[] = []
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20)
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10)
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20)
    clock.setTimeout(() => fired.push('late'), 31)
    clock.tick(30)
    expect(fired).toEqual(['a@10', 'b@20', 'c@20'])
    expect(clock.pendingTimers).toBe(1)
    expect(clock.now()).toBe(30)
  })

  it('clearTimeout cancels; a negative delay runs at once', () => {
    const clock = new FakeClock(0)
    let count = 0
    const handle = clock.setTimeout(() => count++, 5)
    clock.clearTimeout(handle)
    clock.clearTimeout('unknown handle')
    clock.setTimeout(() => count++, -5)
    clock.tick(0)
    expect(count).toBe(1)
  })

  it('advance lets promises settle between timers, and runs timers they set within the window', async () => {
    const clock = new FakeClock(0)
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms))
    const log: number[] = []
    const task = (async () => {
      await sleep(10)
      log.push(clock.now())
      await sleep(10)
      log.push(clock.now())
      await sleep(100)
      log.push(clock.now())
    })()
    await clock.advance(25)
    expect(log).toEqual([10, 20])
    await clock.advance(100)
    await task
    expect(log).toEqual([10, 20, 120])
  })

  it('next() and runAll() jump from timer to timer', async () => {
    const clock = new FakeClock(0)
    let ticks = 0
    const rearm = () => {
      ticks++
      if (ticks < 5) clock.setTimeout(rearm, 1_000)
    }
    clock.setTimeout(rearm, 1_000)
    expect(await clock.next()).toBe(true)
    expect(clock.now()).toBe(1_000)
    expect(await clock.runAll()).toBe(4)
    expect(ticks).toBe(5)
    expect(await clock.next()).toBe(false)
  })

  it('works as a Clock through its unbound methods', () => {
    const clock = new FakeClock(0)
    const { now, setTimeout } = clock
    let fired = false
    setTimeout(() => (fired = true), 1)
    clock.tick(1)
    expect(fired).toBe(true)
    expect(now()).toBe(1)
  })

  it('flushMicrotasks runs chained promise callbacks', async () => {
    let done = false
    void Promise.resolve()
      .then(() => undefined)
      .then(() => {
        done = true
      })
    await flushMicrotasks()
    expect(done).toBe(true)
  })
})
