// Reading OpenAI Chat Completions texts (a request body, an answer, one event of a stream) without parsing them:
// these run on every request and every streamed chunk, and allocate next to nothing. JSON strings escape every `"`
// inside them, so a quoted name found by `indexOf` and followed by `:` is a key (json-chars.ts).
import type { LanguageModelV3FinishReason } from '@ai-sdk/provider'
import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, isSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-chars'

/** OpenAI's finish reasons as the AI SDK unifies them. */
export const FINISH_REASONS: Record<string, LanguageModelV3FinishReason['unified']> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
}

/** A body (or a stream event) that is an error: `{"error": ...}` first. */
export const ERROR_FIRST = /^\s*\{\s*"error"\s*:/

/** Past this many characters the top-level model is not looked for by scanning (re-serializing is as fast). */
const SCAN_LIMIT = 8192

/** The index of the first character at or after `index` that is not JSON whitespace. */
export function skipSpace(text: string, index: number): number {
  while (index < text.length && isSpace(text.charCodeAt(index))) index++
  return index
}

/** The index just past the JSON string that starts (with its quote) at `index`. */
function stringEnd(text: string, index: number): number {
  for (let at = index + 1; at < text.length; at++) {
    const code = text.charCodeAt(at)
    if (code === BACKSLASH) at++
    else if (code === QUOTE) return at + 1
  }
  return text.length
}

/**
 * How deep in objects and arrays the token that starts at `index` of the JSON `text` is (1: a key of the top-level
 * object), or -1 when no token starts there (the index is inside a string).
 */
function depthOfTokenAt(text: string, index: number): number {
  let depth = 0
  for (let at = 0; at < index; at++) {
    const code = text.charCodeAt(at)
    if (code === QUOTE) {
      at = stringEnd(text, at) - 1
      if (at >= index) return -1
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) depth++
    else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth--
  }
  return depth
}

/** Where the value of the key `"name"` found at or after `from` starts; -1 if there is none. */
export function valueOf(
  text: string,
  name: string,
  from: number,
  end = text.length,
): { key: number; value: number } | -1 {
  for (let key = text.indexOf(name, from); key >= 0 && key < end; key = text.indexOf(name, key + 1)) {
    const colon = skipSpace(text, key + name.length)
    if (text.charCodeAt(colon) === COLON) return { key, value: skipSpace(text, colon + 1) }
  }
  return -1
}

/**
 * The span of the quoted string value of the top-level `"model":` key of the JSON object `text`, looking only
 * before `end` (and within SCAN_LIMIT); undefined if there is none there, or it is written with escapes: the caller
 * then parses or re-serializes.
 */
export function topLevelModel(text: string, end = text.length): [number, number] | undefined {
  const limit = Math.min(end, SCAN_LIMIT)
  for (let from = 0; ; ) {
    const found = valueOf(text, '"model"', from, limit)
    if (found === -1) return undefined
    if (depthOfTokenAt(text, found.key) === 1) {
      return text.charCodeAt(found.value) === QUOTE ? [found.value, stringEnd(text, found.value)] : undefined
    }
    from = found.key + 1
  }
}

/** The whole number that is the value of the first key `"name"` at or after `from`, or undefined. */
export function numberAfter(text: string, name: string, from: number): number | undefined {
  const found = valueOf(text, name, from)
  if (found === -1) return undefined
  let value = 0
  let at = found.value
  for (let code = text.charCodeAt(at); code >= 48 && code <= 57; code = text.charCodeAt(++at))
    value = value * 10 + (code - 48)
  return at > found.value ? value : undefined
}

/** The string value of the first key `"name"`, if it is a plain one. */
export function stringAfter(text: string, name: string): string | undefined {
  const found = valueOf(text, name, 0)
  if (found === -1 || text.charCodeAt(found.value) !== QUOTE) return undefined
  const close = text.indexOf('"', found.value + 1)
  return close < 0 ? undefined : text.slice(found.value + 1, close)
}

/** Keys of a streamed `delta` whose value is content: text, reasoning, a refusal, tool calls, audio. */
const CONTENT_KEYS = [
  '"content"',
  '"tool_calls"',
  '"reasoning_content"',
  '"reasoning"',
  '"refusal"',
  '"function_call"',
  '"audio"',
]

/**
 * Whether a `chat.completion.chunk` carries content: a `delta` with a non-empty string, object or array under one
 * of CONTENT_KEYS. The role chunk (`"content":""`, `"refusal":null`) and the usage chunk (no `delta`) do not.
 */
export function hasContent(chunk: string): boolean {
  const delta = chunk.indexOf('"delta"')
  if (delta < 0) return false
  for (const key of CONTENT_KEYS) {
    const found = valueOf(chunk, key, delta)
    if (found === -1) continue
    const code = chunk.charCodeAt(found.value)
    const next = chunk.charCodeAt(found.value + 1)
    if (
      (code === QUOTE && next !== QUOTE) ||
      (code === OPEN_BRACKET && next !== CLOSE_BRACKET) ||
      (code === OPEN_BRACE && next !== CLOSE_BRACE)
    )
      return true
  }
  return false
}
