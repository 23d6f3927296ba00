import { createHash } from 'node:crypto'
import type {
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
  LanguageModelV3StreamPart,
} from '@ai-sdk/provider'
import type { Clock } from '@llmpool/schema'
import { withStreamRouting } from './stream'

export interface CacheSettings {
  /** Most entries kept; the least recently used goes first. */
  maxSize: number
  /** How long an entry is served (ms). */
  ttlMs: number
}

type Entry =
  | { kind: 'generate'; expires: number; value: LanguageModelV3GenerateResult; instance: string }
  | { kind: 'stream'; expires: number; parts: LanguageModelV3StreamPart[]; instance: string }

/** JSON with sorted keys, so that equal calls hash equally whatever their key order. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`
  if (value instanceof Uint8Array || value instanceof URL)
    return JSON.stringify(String(value instanceof URL ? value : Buffer.from(value).toString('base64')))
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stable((value as Record<string, unknown>)[key])}`)
      .join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/**
 * An LRU cache of responses, keyed by a SHA-256 of the target, the prompt and every parameter that shapes the answer
 * (not the abort signal or the headers). Generate results are cached; streams only when they finished cleanly, and
 * are replayed part by part.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>()
  hits = 0
  misses = 0

  constructor(
    private readonly settings: CacheSettings,
    private readonly clock: Clock,
  ) {
    if (!(Number.isInteger(settings.maxSize) && settings.maxSize >= 1))
      throw new RangeError(`cache maxSize must be an integer ≥ 1 (got ${settings.maxSize})`)
    if (!(settings.ttlMs > 0)) throw new RangeError(`cache ttlMs must be > 0 (got ${settings.ttlMs})`)
  }

  key(target: string, mode: 'generate' | 'stream', call: LanguageModelV3CallOptions): string {
    const { abortSignal: _signal, headers: _headers, includeRawChunks: _raw, ...shape } = call
    return createHash('sha256')
      .update(`${mode}\n${target}\n${stable(shape)}`)
      .digest('hex')
  }

  private get(key: string): Entry | undefined {
    const entry = this.entries.get(key)
    if (!entry) {
      this.misses++
      return undefined
    }
    if (entry.expires <= this.clock.now()) {
      this.entries.delete(key)
      this.misses++
      return undefined
    }
    // Most recently used last.
    this.entries.delete(key)
    this.entries.set(key, entry)
    this.hits++
    return entry
  }

  private set(key: string, entry: Entry): void {
    this.entries.delete(key)
    this.entries.set(key, entry)
    while (this.entries.size > this.settings.maxSize) this.entries.delete(this.entries.keys().next().value!)
  }

  getGenerate(key: string): { value: LanguageModelV3GenerateResult; instance: string } | undefined {
    const entry = this.get(key)
    return entry?.kind === 'generate' ? entry : undefined
  }

  setGenerate(key: string, value: LanguageModelV3GenerateResult, instance: string): void {
    const { request: _request, ...kept } = value
    this.set(key, { kind: 'generate', expires: this.clock.now() + this.settings.ttlMs, value: kept, instance })
  }

  /** A replay of a cached stream, or undefined. Its finish part says so (`providerMetadata.llmpool.cached`). */
  getStream(key: string): { stream: ReadableStream<LanguageModelV3StreamPart>; instance: string } | undefined {
    const entry = this.get(key)
    if (entry?.kind !== 'stream') return undefined
    const { parts, instance } = entry
    return {
      instance,
      stream: new ReadableStream({
        start(controller) {
          for (const part of parts)
            controller.enqueue(
              part.type === 'finish' ? withStreamRouting(part, { instance, attempts: 0, cached: true }) : part,
            )
          controller.close()
        },
      }),
    }
  }

  /** Passes a stream through, and caches its parts if it finishes cleanly (a `finish`, no `error`). */
  teeStream(
    key: string,
    stream: ReadableStream<LanguageModelV3StreamPart>,
    instance: string,
  ): ReadableStream<LanguageModelV3StreamPart> {
    const parts: LanguageModelV3StreamPart[] = []
    let clean = true
    return stream.pipeThrough(
      new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
        transform: (part, controller) => {
          if (part.type === 'error') clean = false
          if (part.type !== 'raw') parts.push(part)
          controller.enqueue(part)
        },
        flush: () => {
          if (clean && parts.some((part) => part.type === 'finish'))
            this.set(key, { kind: 'stream', expires: this.clock.now() + this.settings.ttlMs, parts, instance })
        },
      }),
    )
  }

  get size(): number {
    return this.entries.size
  }

  clear(): void {
    this.entries.clear()
  }
}
