/**
 * GET /metrics as Prometheus reads it. The text goes through an independent parser (parse-prometheus-text-format),
 * then is checked for what a scraper relies on: every family has HELP and TYPE and the right type, histograms are
 * cumulative up to +Inf = _count, counters never fall — between two scrapes with traffic between them, and when the
 * router's metrics window rolls over — no label clashes with Prometheus's own `instance` and `job`, and no secret
 * of the configuration shows.
 */
import type { Clock } from '@llmpool/schema'
import { createMockUpstream, type MockUpstream } from '@llmpool/testing'
import OpenAI from 'openai'
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type Gateway, startGateway } from '../src/index'
import { FAST_ROUTER, writeConfiguration } from './helpers'

const API_KEYS = ['sk-metrics-secret-key-0001', 'sk-metrics-secret-key-0002']
const TOKEN = 'gateway-token-secret-0003'

/** A pool counted in intervals of 10 s kept for a minute, over two models with two rotating keys: four instances. */
const configuration = () =>
  writeConfiguration(
    {
      '_registry.toml': `
[pools]
metered_pool = { file = "pools/metered.toml" }
[task_groups]
metered_group = { file = "task-groups/metered.toml" }
[global]
enable_hot_reload = false
`,
      'pools/metered.toml': `
[pool]
name = "metered_pool"
task_groups = ["metered_group"]
[pool.metrics]
interval = 10
retention_period = 60
`,
      'task-groups/metered.toml': `
[task_group]
name = "metered_group"
[task_group.fallback]
retry_delay = 0
[task_group.echelons.main]
models = ["openai:model-a", "openai:model-b"]
api_keys = [${API_KEYS.map((key) => `"${key}"`).join(', ')}]
max_retries = 0
timeout = 10
rpm_limit = 100000
concurrency_limit = 100
base_url = "\${MOCK_URL}/v1"
`,
    },
    'metrics',
  )

/** The wall clock plus an offset the test moves: real latencies, and a jump over the metrics' retention period. */
let offsetMs = 0
const clock: Clock = {
  now: () => Date.now() + offsetMs,
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

let upstream: MockUpstream
let gateway: Gateway

beforeAll(async () => {
  upstream = await createMockUpstream()
  gateway = await startGateway({
    config: configuration(),
    env: { MOCK_URL: upstream.url },
    token: TOKEN,
    router: { ...FAST_ROUTER, clock },
  })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})

const client = () => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TOKEN, maxRetries: 0 })
const ask = () =>
  client().chat.completions.create({ model: 'metered_pool', messages: [{ role: 'user', content: 'hi' }] })
async function askStreaming(): Promise<void> {
  const stream = await client().chat.completions.create({
    model: 'metered_pool',
    messages: [{ role: 'user', content: 'one two three' }],
    stream: true,
  })
  for await (const _chunk of stream);
}

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}
interface Scrape {
  text: string
  /** By family name, as the parser read them (a histogram's series folded: see `scrape`). */
  families: Map<string, ParsedFamily>
  samples: Sample[]
}

/** Go's ParseFloat, as Prometheus reads a sample value. */
const number = (text: string | undefined) => (text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text))
const key = (sample: Sample) => `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count']

async function scrape(): Promise<Scrape> {
  const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  const text = await response.text()
  const families = new Map<string, ParsedFamily>()
  for (const family of parsePrometheusTextFormat(text)) {
    // A family met twice has its samples split, which the format forbids.
    expect(families.has(family.name), `family ${family.name} appears twice`).toBe(false)
    families.set(family.name, family)
  }
  // The parser folds every series of a histogram into one entry (it keeps the `le` label only). So the samples are
  // read a second time with each histogram typed untyped: its _bucket, _sum and _count lines then come back as
  // families of their own, each sample with all its labels.
  const untyped = text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped')
  const samples = parsePrometheusTextFormat(untyped).flatMap((family) =>
    family.metrics.map((metric) => ({ name: family.name, labels: metric.labels ?? {}, value: number(metric.value) })),
  )
  // The parser merges consecutive samples with equal labels: as many samples as sample lines means no duplicate.
  expect(samples.length).toBe(text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length)
  return { text, families, samples }
}

/** The family a sample belongs to: its own name, or a histogram's name without `_bucket`, `_sum`, `_count`. */
function familyOf(scrape: Scrape, sample: Sample): ParsedFamily | undefined {
  const own = scrape.families.get(sample.name)
  if (own && own.type !== 'HISTOGRAM') return own
  const suffix = HISTOGRAM_SUFFIXES.find((candidate) => sample.name.endsWith(candidate))
  const histogram = suffix ? scrape.families.get(sample.name.slice(0, -suffix.length)) : undefined
  return histogram?.type === 'HISTOGRAM' ? histogram : undefined
}

const TYPES: Record<string, ParsedFamily['type']> = {
  llmpool_requests_total: 'COUNTER',
  llmpool_successes_total: 'COUNTER',
  llmpool_failures_total: 'COUNTER',
  llmpool_retries_total: 'COUNTER',
  llmpool_fallbacks_total: 'COUNTER',
  llmpool_rate_limited_total: 'COUNTER',
  llmpool_breaker_trips_total: 'COUNTER',
  llmpool_cooldowns_total: 'COUNTER',
  llmpool_hedges_total: 'COUNTER',
  llmpool_cancelled_total: 'COUNTER',
  llmpool_input_tokens_total: 'COUNTER',
  llmpool_output_tokens_total: 'COUNTER',
  llmpool_in_flight: 'GAUGE',
  llmpool_request_duration_seconds: 'HISTOGRAM',
  llmpool_time_to_first_token_seconds: 'HISTOGRAM',
  llmpool_breaker_state: 'GAUGE',
  llmpool_instance_healthy: 'GAUGE',
  llmpool_instance_cooldown_seconds: 'GAUGE',
  llmpool_limiter_available: 'GAUGE',
  llmpool_limiter_limit: 'GAUGE',
  llmpool_limiter_in_flight: 'GAUGE',
  llmpool_limiter_queued: 'GAUGE',
  llmpool_gateway_http_responses_total: 'COUNTER',
  llmpool_gateway_http_in_flight: 'GAUGE',
  process_cpu_seconds_total: 'COUNTER',
  process_resident_memory_bytes: 'GAUGE',
  process_open_fds: 'GAUGE',
  process_start_time_seconds: 'GAUGE',
  nodejs_heap_size_used_bytes: 'GAUGE',
  nodejs_eventloop_lag_seconds: 'GAUGE',
  nodejs_gc_duration_seconds: 'HISTOGRAM',
}

/** Everything a scraper needs from one exposition. */
function expectReadable(scrape: Scrape): void {
  for (const [name, type] of Object.entries(TYPES)) expect(scrape.families.get(name)?.type, name).toBe(type)
  for (const family of scrape.families.values()) {
    expect(family.name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/)
    expect(family.help, `HELP of ${family.name}`).not.toBe('')
    expect(['COUNTER', 'GAUGE', 'HISTOGRAM'], `TYPE of ${family.name}`).toContain(family.type)
    // The convention PromQL users read types by: counters end in _total, and of ours only they (prom-client's
    // nodejs_active_handles_total and its like are gauges, under the names Node.js dashboards know).
    if (family.type === 'COUNTER' || family.name.startsWith('llmpool_'))
      expect(family.name.endsWith('_total'), family.name).toBe(family.type === 'COUNTER')
  }
  const histograms = new Map<string, { le: string[]; buckets: number[]; sum?: number; count?: number }>()
  for (const sample of scrape.samples) {
    const family = familyOf(scrape, sample)
    expect(family, `the family of ${sample.name}`).toBeDefined()
    // NaN is a valid value and Prometheus stores it (prom-client's event-loop gauges are NaN when no delay was
    // sampled since the previous scrape); counters and histograms must be numbers.
    if (family!.type === 'GAUGE')
      expect(Number.isNaN(sample.value) || Number.isFinite(sample.value), `${key(sample)} = ${sample.value}`).toBe(true)
    else expect(Number.isFinite(sample.value), `${key(sample)} = ${sample.value}`).toBe(true)
    for (const label of Object.keys(sample.labels)) {
      expect(label).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/)
      expect(label.startsWith('__'), label).toBe(false)
      // Prometheus attaches these two to every series it scrapes; a clashing one would become exported_instance.
      expect(['instance', 'job'], `${sample.name} label ${label}`).not.toContain(label)
    }
    if (family!.type === 'COUNTER') expect(sample.value, key(sample)).toBeGreaterThanOrEqual(0)
    if (family!.type !== 'HISTOGRAM') continue
    const { le, ...series } = sample.labels
    const id = `${family!.name}${JSON.stringify(Object.entries(series).sort())}`
    let histogram = histograms.get(id)
    if (!histogram) histograms.set(id, (histogram = { le: [], buckets: [] }))
    if (sample.name.endsWith('_bucket')) {
      expect(le, `${id} bucket without le`).toBeDefined()
      histogram.le.push(le!)
      histogram.buckets.push(sample.value)
    } else if (sample.name.endsWith('_sum')) histogram.sum = sample.value
    else histogram.count = sample.value
  }
  for (const [id, histogram] of histograms) {
    expect(histogram.le.at(-1), `${id} ends with +Inf`).toBe('+Inf')
    for (let i = 1; i < histogram.le.length; i++) {
      expect(number(histogram.le[i]), `${id} le ascending`).toBeGreaterThan(number(histogram.le[i - 1]))
      expect(histogram.buckets[i], `${id} cumulative`).toBeGreaterThanOrEqual(histogram.buckets[i - 1]!)
    }
    expect(histogram.count, `${id} _count`).toBe(histogram.buckets.at(-1))
    expect(histogram.sum, `${id} _sum`).toBeGreaterThanOrEqual(0)
  }
  for (const secret of [...API_KEYS, TOKEN]) expect(scrape.text).not.toContain(secret)
}

/** Every counter and histogram sample of `before` is still there in `after`, and not lower. */
function expectNoDecrease(before: Scrape, after: Scrape): void {
  const later = new Map(after.samples.map((sample) => [key(sample), sample.value]))
  for (const sample of before.samples) {
    const type = familyOf(before, sample)!.type
    if (type !== 'COUNTER' && type !== 'HISTOGRAM') continue
    expect(later.get(key(sample)), `${key(sample)} was ${sample.value}`).toBeGreaterThanOrEqual(sample.value)
  }
}

const value = (scrape: Scrape, name: string, labels: Record<string, string>) =>
  scrape.samples.find(
    (sample) => sample.name === name && Object.entries(labels).every(([label, text]) => sample.labels[label] === text),
  )?.value
const sum = (scrape: Scrape, name: string, labels: Record<string, string>) =>
  scrape.samples
    .filter(
      (sample) =>
        sample.name === name && Object.entries(labels).every(([label, text]) => sample.labels[label] === text),
    )
    .reduce((total, sample) => total + sample.value, 0)
const POOL = { scope: 'pool', pool: 'metered_pool' }

test('/metrics is read as Prometheus reads it, and its counters only grow, also past the metrics window', async () => {
  // One failure on model-a: a failure of kind server_error on one instance, a fallback on the pool.
  upstream.setFaults('model-a', { status: 500, times: 1 })
  for (let i = 0; i < 4; i++) await ask()
  await askStreaming()
  const first = await scrape()
  expectReadable(first)
  expect(value(first, 'llmpool_requests_total', POOL)).toBe(5)
  expect(value(first, 'llmpool_successes_total', POOL)).toBe(5)
  expect(value(first, 'llmpool_fallbacks_total', POOL)).toBe(1)
  expect(sum(first, 'llmpool_requests_total', { scope: 'instance' })).toBe(6)
  expect(sum(first, 'llmpool_failures_total', { scope: 'instance', kind: 'server_error' })).toBe(1)
  expect(value(first, 'llmpool_request_duration_seconds_count', POOL)).toBe(5)
  expect(value(first, 'llmpool_time_to_first_token_seconds_count', POOL)).toBe(1)
  expect(value(first, 'llmpool_output_tokens_total', POOL)).toBeGreaterThan(0)
  // Instances are named by `llm_instance`, rotating keys by their position: never by the key.
  expect(
    new Set(
      first.samples.filter((sample) => sample.labels.scope === 'instance').map((sample) => sample.labels.llm_instance),
    ),
  ).toEqual(
    new Set([
      'metered_group.main/openai:model-a#1',
      'metered_group.main/openai:model-a#2',
      'metered_group.main/openai:model-b#1',
      'metered_group.main/openai:model-b#2',
    ]),
  )

  // Traffic between two scrapes: everything counted grows or stays.
  for (let i = 0; i < 2; i++) await ask()
  const second = await scrape()
  expectReadable(second)
  expectNoDecrease(first, second)
  expect(value(second, 'llmpool_requests_total', POOL)).toBe(7)
  expect(value(second, 'llmpool_gateway_http_responses_total', { status: '200' })).toBeGreaterThan(
    value(first, 'llmpool_gateway_http_responses_total', { status: '200' })!,
  )
  expect(value(second, 'process_cpu_seconds_total', {})).toBeGreaterThan(0)

  // Past the retention period the router's window is empty (what /admin/state shows lately), the counters are not.
  offsetMs += 120_000
  expect(gateway.router.metrics!.snapshot().pools.metered_pool!.requests).toBe(0)
  const rolled = await scrape()
  expectReadable(rolled)
  expectNoDecrease(second, rolled)
  expect(value(rolled, 'llmpool_requests_total', POOL)).toBe(7)
  expect(value(rolled, 'llmpool_request_duration_seconds_count', POOL)).toBe(7)

  for (let i = 0; i < 2; i++) await ask()
  const after = await scrape()
  expectReadable(after)
  expectNoDecrease(rolled, after)
  expect(gateway.router.metrics!.snapshot().pools.metered_pool!.requests).toBe(2)
  expect(value(after, 'llmpool_requests_total', POOL)).toBe(9)
  expect(value(after, 'llmpool_fallbacks_total', POOL)).toBe(1)
  expect(sum(after, 'llmpool_failures_total', { scope: 'instance', kind: 'server_error' })).toBe(1)
})
