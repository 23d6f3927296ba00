import { FakeClock } from '@llmpool/testing'
import fc from 'fast-check'
import { afterEach, describe, expect, test } from 'vitest'
import { type RoutedGenerateResult, RouterError, type RouterEvent } from '../src/index'
import { disposeRouters, drive, httpError, mockProvider, prompt, routerFor, setup, textResult } from './helpers'

afterEach(disposeRouters)

type Outcome = 'ok' | 500 | 429 | 401 | 400
const KIND: Record<Exclude<Outcome, 'ok'>, string> = {
  500: 'server_error',
  429: 'rate_limit',
  401: 'auth',
  400: 'bad_request',
}

const scenario = fc.record({
  /** Per instance, the outcome of each of its calls in order; `ok` once the plan runs out. */
  plans: fc.array(fc.array(fc.constantFrom<Outcome>('ok', 500, 500, 429, 401, 400), { maxLength: 8 }), {
    minLength: 2,
    maxLength: 4,
  }),
  firstEchelon: fc.integer({ min: 1, max: 3 }),
  maxRetries: fc.integer({ min: 0, max: 2 }),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  breakerThreshold: fc.integer({ min: 1, max: 3 }),
  attemptBudget: fc.integer({ min: 1, max: 6 }),
  requests: fc.integer({ min: 1, max: 5 }),
})

/** Loaded configurations by the text of their task group: the scenarios share a few hundred of them. */
const configs = new Map<string, ReturnType<typeof setup>>()
function configOf(group: string) {
  let config = configs.get(group)
  if (!config) configs.set(group, (config = setup({ groups: { g: group } })))
  return config
}

describe('Properties', () => {
  test('for any failure schedule: calls stay within the attempt budget, never reach an open breaker or a resting instance, and the outcome matches the calls made', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario,
        async ({ plans, firstEchelon, maxRetries, maxAttempts, breakerThreshold, attemptBudget, requests }) => {
          const names = plans.map((_plan, index) => `m${index}`)
          const split = Math.min(firstEchelon, names.length - 1)
          const echelons = [names.slice(0, split), names.slice(split)]
          const config = await configOf(`
[task_group.circuit_breaker]
failure_threshold = ${breakerThreshold}
recovery_time = 60
[task_group.fallback]
max_attempts = ${maxAttempts}
retry_delay = 0
${echelons.map((models, index) => `[task_group.echelons.e${index + 1}]\nmodels = [${models.map((model) => `"mock:${model}"`).join(', ')}]\nmax_retries = ${maxRetries}`).join('\n')}
`)
          const keyOf = (model: string) => `g.e${echelons[0]!.includes(model) ? 1 : 2}/mock:${model}`
          const clock = new FakeClock()
          const breakers = new Map<string, string>()
          const restingUntil = new Map<string, number>()
          const calls: { instance: string; outcome: Outcome; breaker: string; resting: boolean }[] = []
          const cursor = new Map<string, number>()
          const behaviours = Object.fromEntries(
            names.map((model, index) => [
              model,
              () => {
                const step = cursor.get(model) ?? 0
                cursor.set(model, step + 1)
                const outcome = plans[index]![step] ?? 'ok'
                calls.push({
                  instance: keyOf(model),
                  outcome,
                  breaker: breakers.get(keyOf(model)) ?? 'closed',
                  resting: clock.now() < (restingUntil.get(keyOf(model)) ?? 0),
                })
                if (outcome === 'ok') return textResult(model)
                throw httpError(outcome, outcome === 429 ? 'Rate limit reached' : `HTTP ${outcome}`)
              },
            ]),
          )
          const router = routerFor(config, mockProvider(behaviours), {
            attemptBudget,
            random: () => 0,
            clock,
            retryOn: ['server_error', 'rate_limit'],
          })
          router.on((event: RouterEvent) => {
            if (event.type === 'breaker_change') breakers.set(event.instance, event.to)
            if (event.type === 'cooldown') restingUntil.set(event.instance, event.at + event.durationMs)
          })
          for (let request = 0; request < requests; request++) {
            const before = calls.length
            let result: RoutedGenerateResult | undefined
            let failure: unknown
            try {
              result = await drive(clock, router.generate('g', prompt), 500)
            } catch (error) {
              failure = error
            }
            const made = calls.slice(before)
            expect(made.length).toBeLessThanOrEqual(attemptBudget)
            for (const call of made) expect(call.breaker).not.toBe('open')
            for (const call of made) expect(call.resting).toBe(false)
            const attempts = result ? result.routing.attempts : (failure as RouterError).attempts
            if (result) {
              expect(made.at(-1)).toMatchObject({ instance: result.routing.instance, outcome: 'ok' })
              expect(made.slice(0, -1).every((call) => call.outcome !== 'ok')).toBe(true)
            } else {
              expect(failure).toBeInstanceOf(RouterError)
              expect(made.every((call) => call.outcome !== 'ok')).toBe(true)
              if (made.at(-1)?.outcome === 400) expect((failure as RouterError).code).toBe('request_rejected')
              if (made.length === 0)
                expect(['no_instance_available', 'rate_limited']).toContain((failure as RouterError).code)
            }
            expect(attempts.map((attempt) => attempt.instance)).toEqual(made.map((call) => call.instance))
            expect(attempts.map((attempt) => attempt.error?.kind)).toEqual(
              made.map((call) => (call.outcome === 'ok' ? undefined : KIND[call.outcome])),
            )
          }
          await router.dispose()
        },
      ),
      { numRuns: 150 },
    )
  })
})
