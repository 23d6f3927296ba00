/**
 * ChunkScanner: however the upstream's bytes are split into reads, it forwards the same text and learns the same
 * (content start, finish reason, tokens, failure) as from one read; and what it forwards is right.
 */
import { describe, expect, test } from 'vitest'
import { ChunkScanner, type ChunkSink, type ChunkTarget, toWire } from '../src/sse-chunks'

const head = (id: string, created: number) =>
  `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":"gpt-up","system_fingerprint":"fp_1"`
const content = (text: string, finish = 'null', id = 'c1', created = 1, usage = ',"usage":null') =>
  `data: ${head(id, created)},"choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":${finish}}]${usage}}\n\n`
const role = `data: ${head('c1', 1)},"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}\n\n`
const finish = `data: ${head('c1', 1)},"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n`
const usage = `data: ${head('c1', 1)},"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}}\n\n`
const DONE = 'data: [DONE]\n\n'
const words = (count: number) => Array.from({ length: count }, (_, index) => content(` w${index}`))

/** Streams as upstreams send them, and as they should not. */
const STREAMS: Record<string, string> = {
  openai: [role, ...words(20), finish, usage, DONE].join(''),
  'text that looks like keys': [
    role,
    content('say \\"finish_reason\\":\\"stop\\" and ,\\"usage\\":null} please'),
    content('data: {"id":"c1"'),
    ...words(3),
    finish,
    usage,
    DONE,
  ].join(''),
  'a chunk id per chunk': [
    role,
    content('a'),
    content('b', 'null', 'c2'),
    content('c', 'null', 'c3', 2),
    finish,
    DONE,
  ].join(''),
  'finish reason with spaces, in the middle': [
    role,
    ...words(3),
    content(' x', ' "length"'),
    ...words(2),
    usage,
    DONE,
  ].join(''),
  'an error event in the middle': [role, ...words(4), 'data: {"error":{"message":"overloaded"}}\n\n', ...words(2)].join(
    '',
  ),
  'a comment in the middle, no [DONE]': [role, ...words(3), ': keep-alive\n\n', ...words(3), finish, usage].join(''),
  'usage in every chunk': [
    role,
    content('a', 'null', 'c1', 1, ',"usage":{"prompt_tokens":9,"completion_tokens":1}'),
    content('b', 'null', 'c1', 1, ',"usage":{"prompt_tokens":9,"completion_tokens":2}'),
    content('', '"stop"', 'c1', 1, ',"usage":{"prompt_tokens":9,"completion_tokens":2}'),
    DONE,
  ].join(''),
  'two choices': [
    role,
    `data: ${head('c1', 1)},"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null},{"index":1,"delta":{"content":"b"},"finish_reason":null}],"usage":null}\n\n`,
    `data: ${head('c1', 1)},"choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{"content":"c"},"finish_reason":null}],"usage":null}\n\n`,
    `data: ${head('c1', 1)},"choices":[{"index":1,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n`,
    usage,
    DONE,
  ].join(''),
  'not ASCII, CRLF': [role, content('héllo ✓'), content(' wörld 🙂'), finish, usage, DONE]
    .join('')
    .replaceAll('\n', '\r\n'),
}

interface Outcome {
  text: string
  marks: number[]
  state: Record<string, unknown>
}

function scan(wire: string, pieces: number, includeUsage: boolean): Outcome {
  let text = ''
  const marks: number[] = []
  const sink: ChunkSink = {
    text: (more) => void (text += more),
    contentStarted: () => void marks.push(text.length),
  }
  const target: ChunkTarget = { url: 'http://up/v1', requestBody: {}, model: toWire('"client-model ü"'), includeUsage }
  const scanner = new ChunkScanner(sink, target)
  const bytes = Buffer.from(wire, 'latin1')
  const size = Math.max(1, Math.ceil(bytes.length / pieces))
  for (let at = 0; at < bytes.length; at += size) {
    scanner.read(bytes.subarray(at, at + size))
    if (scanner.done || scanner.failure !== undefined) break
  }
  if (!scanner.done && scanner.failure === undefined) scanner.end()
  const { contentStarted, done, finishReason, inputTokens, outputTokens } = scanner
  const failure = scanner.failure === undefined ? undefined : String((scanner.failure as Error).message)
  return { text, marks, state: { contentStarted, done, finishReason, inputTokens, outputTokens, failure } }
}

describe('ChunkScanner', () => {
  for (const [name, stream] of Object.entries(STREAMS)) {
    test(`${name}: the same text and the same findings from one read or many`, () => {
      const wire = toWire(stream)
      for (const includeUsage of [false, true]) {
        const expected = scan(wire, 1, includeUsage)
        for (const pieces of [2, 3, 7, 40, wire.length]) expect(scan(wire, pieces, includeUsage)).toEqual(expected)
      }
    })
  }

  test('a plain stream: every model rewritten, null usage dropped unless asked for, content start marked', () => {
    const { text, marks, state } = scan(toWire(STREAMS.openai!), 1, false)
    // After the first content chunk (the role chunk has none).
    expect(marks).toEqual([text.indexOf('\n\n', text.indexOf('\n\n') + 2) + 2])
    expect(text).not.toContain('gpt-up')
    expect(text).not.toContain('"usage"')
    expect(text.split('"model":"client-model Ã¼"')).toHaveLength(23)
    expect(text.endsWith(`,"finish_reason":"stop"}]}\n\n`)).toBe(true)
    expect(state).toEqual({
      contentStarted: true,
      done: true,
      finishReason: 'stop',
      inputTokens: 9,
      outputTokens: 20,
      failure: undefined,
    })
    const asked = scan(toWire(STREAMS.openai!), 1, true).text
    expect(asked.split(',"usage":null}').length).toBe(23)
    expect(asked).toContain('"usage":{"prompt_tokens":9')
  })
})
