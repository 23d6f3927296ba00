import { quote } from './openai-chat'
import { deriveSeed, seededRandom } from './seeded-random'

// OpenAI's `POST /v1/embeddings`, as the mock upstream answers it: deterministic vectors, so that a test can tell
// which model (and which input) a vector came from, in `float` or `base64` (the `openai` client asks for base64).

/** The vector length when a request sets no `dimensions`. */
export const MOCK_EMBEDDING_DIMENSIONS = 8

/** OpenAI's limits: inputs per request, and the largest `dimensions` of its models. */
const MAX_INPUTS = 2048
const MAX_DIMENSIONS = 3072

/**
 * The vector the mock upstream answers for `text` (a string input, or `tokens:1,2,3` for a token-array input) under
 * `model`: seeded by both, unit length, each component a float32 value (so that `float` and `base64` answers decode
 * to the same numbers).
 */
export function mockEmbedding(model: string, text: string, dimensions: number = MOCK_EMBEDDING_DIMENSIONS): number[] {
  const random = seededRandom(deriveSeed(dimensions, `${model}\u0000${text}`))
  const raw = Array.from({ length: dimensions }, () => random() * 2 - 1)
  const norm = Math.sqrt(raw.reduce((sum, value) => sum + value * value, 0)) || 1
  return raw.map((value) => Math.fround(value / norm))
}

/** One input of a request: its text (token arrays as `tokens:1,2,3`) and the tokens it counts for. */
interface EmbeddingInput {
  text: string
  tokens: number
}

/** A parsed embeddings request, or what is wrong with it (answered as OpenAI's 400). */
export type EmbeddingsRequest =
  | { ok: true; inputs: EmbeddingInput[]; dimensions: number; encoding: 'float' | 'base64' }
  | { ok: false; param: string; message: string }

const isTokens = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((token) => Number.isInteger(token) && token >= 0)

function textInput(text: string): EmbeddingInput {
  return { text, tokens: Math.max(1, Math.ceil(text.length / 4)) }
}

function tokenInput(tokens: number[]): EmbeddingInput {
  return { text: `tokens:${tokens.join(',')}`, tokens: tokens.length }
}

/** Reads `input`, `dimensions` and `encoding_format` as OpenAI does: what it refuses, this refuses with a 400. */
export function parseEmbeddingsRequest(body: Record<string, unknown>): EmbeddingsRequest {
  const { input, dimensions, encoding_format: encoding } = body
  let inputs: EmbeddingInput[]
  if (typeof input === 'string') {
    if (input === '')
      return { ok: false, param: 'input', message: "'$.input' is invalid: an input must not be an empty string." }
    inputs = [textInput(input)]
  } else if (isTokens(input)) {
    inputs = [tokenInput(input)]
  } else if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string')) {
    if (input.some((item) => item === ''))
      return { ok: false, param: 'input', message: "'$.input' is invalid: an input must not be an empty string." }
    inputs = (input as string[]).map(textInput)
  } else if (Array.isArray(input) && input.length > 0 && input.every(isTokens)) {
    inputs = (input as number[][]).map(tokenInput)
  } else {
    return {
      ok: false,
      param: 'input',
      message: "'$.input' is invalid: send a non-empty string, a list of them, or token arrays.",
    }
  }
  if (inputs.length > MAX_INPUTS)
    return {
      ok: false,
      param: 'input',
      message: `'$.input' is invalid: at most ${MAX_INPUTS} inputs per request (got ${inputs.length}).`,
    }
  if (
    dimensions !== undefined &&
    !(Number.isInteger(dimensions) && (dimensions as number) >= 1 && (dimensions as number) <= MAX_DIMENSIONS)
  ) {
    return { ok: false, param: 'dimensions', message: `'$.dimensions' must be an integer from 1 to ${MAX_DIMENSIONS}.` }
  }
  if (encoding !== undefined && encoding !== 'float' && encoding !== 'base64') {
    return { ok: false, param: 'encoding_format', message: "'$.encoding_format' must be 'float' or 'base64'." }
  }
  return {
    ok: true,
    inputs,
    dimensions: (dimensions as number | undefined) ?? MOCK_EMBEDDING_DIMENSIONS,
    encoding: encoding ?? 'float',
  }
}

/** Encoded vectors, by model, dimensions, encoding and text: a benchmark sends the same inputs again and again. */
const encoded = new Map<string, string>()

/** One vector as the answer writes it: a JSON array of numbers, or the quoted base64 of its float32 little-endian bytes. */
function encodedVector(model: string, text: string, dimensions: number, encoding: 'float' | 'base64'): string {
  const key = `${encoding}\u0000${dimensions}\u0000${model}\u0000${text}`
  let value = encoded.get(key)
  if (value === undefined) {
    const vector = mockEmbedding(model, text, dimensions)
    value =
      encoding === 'base64'
        ? `"${Buffer.from(new Float32Array(vector).buffer).toString('base64')}"`
        : `[${vector.join(',')}]`
    if (encoded.size >= 10_000) encoded.clear()
    encoded.set(key, value)
  }
  return value
}

/** OpenAI's embeddings answer: `{ object: 'list', data: [{ object: 'embedding', index, embedding }], model, usage }`. */
export function openAIEmbeddingsJson(model: string, request: Extract<EmbeddingsRequest, { ok: true }>): string {
  let tokens = 0
  const data = request.inputs.map((input, index) => {
    tokens += input.tokens
    return `{"object":"embedding","index":${index},"embedding":${encodedVector(model, input.text, request.dimensions, request.encoding)}}`
  })
  return `{"object":"list","data":[${data.join(',')}],"model":${quote(model)},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`
}
