/**
 * State-machine invariants over random sequences of admissions, outcomes and clock advances: the breaker agrees with
 * a small reference model of the specification (docs/breaker.md), transitions are heard exactly once each, in a
 * valid chain, never more trials are in flight than allowed, and it opens only after `failureThreshold`
 * consecutive counted failures.
 */
import { type BreakerPermit, type CircuitState, CircuitBreaker, type StateChange } from '@llmpool/breaker'
import fc from 'fast-check'
import { test } from 'vitest'
import { badRequest, ManualClock, serverError } from './helpers'

interface Params {
  failureThreshold: number
  halfOpenRequests: number
  recoveryTimeMs: number
  trialTimeoutMs: number | undefined
  backoff: { factor: number; maxMs: number } | undefined
}

type Outcome = 'success' | 'failure' | 'uncounted' | 'release'
type Command =
  | { kind: 'acquire' }
  | { kind: 'report'; pick: number; outcome: Outcome }
  | { kind: 'advance'; ms: number }
  | { kind: 'read' }

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}

const ALLOWED = new Set(['closed→open', 'open→half_open', 'half_open→open', 'half_open→closed'])

/** The specification, restated as plainly as possible. */
class Model {
  state: CircuitState = 'closed'
  failures = 0
  openedAt: number | null = null
  recovery: number
  reopen = 0
  epoch = 0
  successes = 0
  /** Current-epoch trials in flight: permit id → deadline. */
  readonly trials = new Map<number, number>()
  readonly changes: string[] = []

  constructor(readonly params: Params) {
    this.recovery = params.recoveryTimeMs
  }

  get trialTimeout(): number {
    return this.params.trialTimeoutMs ?? this.params.recoveryTimeMs
  }

  enter(state: CircuitState, reason: string, at: number): void {
    this.changes.push(`${this.state}→${state}:${reason}@${at}`)
    this.state = state
    this.epoch += 1
    this.trials.clear()
    this.successes = 0
    this.failures = 0
    if (state === 'open') this.openedAt = at
    if (state === 'closed') {
      this.openedAt = null
      this.reopen = 0
      this.recovery = this.params.recoveryTimeMs
    }
  }

  reopenAt(reason: string, at: number): void {
    this.reopen += 1
    const { backoff, recoveryTimeMs } = this.params
    this.recovery = backoff ? Math.min(recoveryTimeMs * backoff.factor ** this.reopen, backoff.maxMs) : recoveryTimeMs
    this.enter('open', reason, at)
  }

  /** Applies, in time order, what the clock alone does up to `now`. */
  catchUp(now: number): void {
    for (;;) {
      if (this.state === 'open' && this.openedAt! + this.recovery <= now) {
        this.enter('half_open', 'recovery_time', this.openedAt! + this.recovery)
        continue
      }
      if (this.state === 'half_open') {
        let first: [number, number] | undefined
        for (const [id, deadline] of this.trials)
          if (deadline <= now && (!first || deadline < first[1])) first = [id, deadline]
        if (first) {
          this.reopenAt('trial_timeout', first[1])
          continue
        }
      }
      return
    }
  }

  acquire(id: number, now: number): { trial: boolean; epoch: number } | undefined {
    if (this.state === 'closed') return { trial: false, epoch: this.epoch }
    if (this.state === 'half_open' && this.trials.size + this.successes < this.params.halfOpenRequests) {
      this.trials.set(id, now + this.trialTimeout)
      return { trial: true, epoch: this.epoch }
    }
    return undefined
  }

  report(permit: { id: number; trial: boolean; epoch: number }, outcome: Outcome, now: number): void {
    if (permit.epoch !== this.epoch) return
    if (permit.trial) {
      this.trials.delete(permit.id)
      if (outcome === 'success') {
        this.successes += 1
        if (this.successes >= this.params.halfOpenRequests) this.enter('closed', 'trials_succeeded', now)
      } else if (outcome === 'failure') {
        this.reopenAt('trial_failed', now)
      }
      return
    }
    if (outcome === 'success') this.failures = 0
    else if (outcome === 'failure' && ++this.failures >= this.params.failureThreshold)
      this.enter('open', 'failure_threshold', now)
  }
}

const params: fc.Arbitrary<Params> = fc
  .record({
    failureThreshold: fc.integer({ min: 1, max: 4 }),
    halfOpenRequests: fc.integer({ min: 1, max: 3 }),
    recoveryTimeMs: fc.integer({ min: 1, max: 40 }),
    trialTimeoutMs: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
    backoff: fc.option(fc.record({ factor: fc.constantFrom(1, 1.5, 2, 3), extra: fc.integer({ min: 0, max: 200 }) }), {
      nil: undefined,
    }),
  })
  .map(({ backoff, ...rest }) => ({
    ...rest,
    backoff: backoff && { factor: backoff.factor, maxMs: rest.recoveryTimeMs + backoff.extra },
  }))

const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'acquire' as const }), weight: 4 },
  {
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      pick: fc.oneof(fc.nat({ max: 1 }), fc.nat()), // mostly the newest permits
      outcome: fc.constantFrom<Outcome>('success', 'failure', 'failure', 'uncounted', 'release'),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant(1)),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: 'read' as const }), weight: 1 },
)

interface Held {
  id: number
  permit: BreakerPermit
  trial: boolean
  epoch: number
  /** How many transitions had been heard when it was admitted. */
  heardAtAdmission: number
  settled: boolean
}

test('the breaker follows the model; trials, openings and events obey their invariants', () => {
  fc.assert(
    fc.property(params, fc.array(command, { minLength: 10, maxLength: 120, size: 'max' }), (p, commands) => {
      const clock = new ManualClock()
      const breaker = new CircuitBreaker({
        failureThreshold: p.failureThreshold,
        halfOpenRequests: p.halfOpenRequests,
        recoveryTimeMs: p.recoveryTimeMs,
        trialTimeoutMs: p.trialTimeoutMs,
        recoveryBackoff: p.backoff,
        clock,
      })
      const heard: StateChange[] = []
      breaker.onStateChange((change) => heard.push(change))
      const model = new Model(p)
      const held: Held[] = []
      let nextId = 0
      let run = 0 // consecutive counted failures on current closed-state permits, as the test saw them

      for (const step of commands) {
        const before = heard.length
        if (step.kind === 'acquire') {
          const id = nextId++
          const expected = model.acquire(id, clock.now())
          const permit = breaker.tryAcquire()
          check(
            (permit !== undefined) === (expected !== undefined),
            `admitted ${permit !== undefined}, model ${expected !== undefined}`,
          )
          if (permit && expected) {
            check(permit.trial === expected.trial, 'trial flag')
            held.push({
              id,
              permit,
              trial: permit.trial,
              epoch: expected.epoch,
              heardAtAdmission: heard.length,
              settled: false,
            })
          }
        } else if (step.kind === 'report') {
          const open = held.filter((h) => !h.settled)
          const target = open[open.length - 1 - (step.pick % Math.max(1, open.length))]
          if (target) {
            target.settled = true
            const current = target.heardAtAdmission === heard.length
            if (current && !target.trial) {
              if (step.outcome === 'success') run = 0
              if (step.outcome === 'failure') run += 1
            }
            model.report(target, step.outcome, clock.now())
            if (step.outcome === 'success') target.permit.success()
            else if (step.outcome === 'failure') target.permit.failure(serverError())
            else if (step.outcome === 'uncounted') target.permit.failure(badRequest())
            else target.permit.release()
          }
        } else if (step.kind === 'advance') {
          clock.advance(step.ms)
          for (const h of held) if (h.permit.signal.aborted) h.settled = true
          model.catchUp(clock.now())
        } else {
          void breaker.retryAfterMs
        }

        // Agreement with the model, events included (each exactly once, with its time). Plain checks: this loop
        // runs tens of thousands of times.
        check(breaker.state === model.state, `state ${breaker.state}, model ${model.state}`)
        check(heard.length === model.changes.length, `heard ${heard.length} changes, model ${model.changes.length}`)
        for (let i = before; i < heard.length; i++) {
          const change = heard[i]!
          const text = `${change.from}→${change.to}:${change.reason}@${change.at}`
          check(text === model.changes[i], `heard ${text}, model ${model.changes[i]}`)
        }
        const snapshot = breaker.toJSON()
        const modelSnapshot = {
          state: model.state,
          failures: model.failures,
          openedAt: model.openedAt,
          recoveryTimeMs: model.recovery,
          reopenCount: model.reopen,
        }
        check(
          JSON.stringify(snapshot) === JSON.stringify(modelSnapshot),
          `snapshot ${JSON.stringify(snapshot)}, model ${JSON.stringify(modelSnapshot)}`,
        )

        // Invariants stated without the model.
        for (let i = Math.max(1, before); i < heard.length; i++)
          check(heard[i]!.from === heard[i - 1]!.to, 'broken chain')
        for (const change of heard.slice(before)) {
          check(ALLOWED.has(`${change.from}→${change.to}`), `transition ${change.from}→${change.to}`)
          if (change.reason === 'failure_threshold') check(run === p.failureThreshold, `opened after ${run} failures`)
        }
        if (heard.length > before) run = 0
        let trialsInFlight = 0
        for (const h of held) if (h.trial && !h.settled && h.heardAtAdmission === heard.length) trialsInFlight += 1
        check(trialsInFlight <= p.halfOpenRequests, `${trialsInFlight} trials in flight`)
        if (snapshot.state === 'open')
          check(snapshot.openedAt! + snapshot.recoveryTimeMs > clock.now(), 'open past its recovery time')
      }
    }),
    { numRuns: 500 },
  )
})
