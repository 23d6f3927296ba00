import type { RedisClientLike } from './client'
import type { RedisConnection } from './connection'

/**
 * Tells waiting limiters that capacity may be back, so they retry at once instead of at their next poll: locally
 * when this process released or refunded, and across processes through the `<key>:released` channel the scripts
 * publish on when concurrency permits come back. The subscriber connection is opened at the first wait on a
 * concurrency limit; if it fails, waiters still poll.
 */
export class Wakeups {
  private readonly listeners = new Map<string, Set<() => void>>()
  private readonly subscribed = new Set<string>()
  private subscriber: RedisClientLike | undefined
  private closed = false

  constructor(private readonly connection: RedisConnection) {}

  /** Calls `listener` whenever capacity of `key` may be back; returns the unsubscribe function. */
  watch(key: string, listener: () => void): () => void {
    let set = this.listeners.get(key)
    if (!set) this.listeners.set(key, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.listeners.delete(key)
    }
  }

  /** Capacity of `key` may be back (this process released or refunded it). */
  notify(key: string): void {
    const set = this.listeners.get(key)
    if (set) for (const listener of set) listener()
  }

  /** Listens to releases of `key` by other processes too (idempotent). */
  subscribe(key: string): void {
    const client = this.connection.client
    if (this.closed || !client || this.subscribed.has(key)) return
    this.subscribed.add(key)
    if (!this.subscriber) {
      const subscriber = client.duplicate()
      subscriber.on('error', () => {})
      subscriber.on('message', (channel: string) => this.notify(this.keyOf(channel)))
      this.subscriber = subscriber
    }
    this.subscriber.subscribe(this.channelOf(key)).catch(() => {
      // Polling still finds the capacity; try again at the next wait.
      this.subscribed.delete(key)
    })
  }

  /** The scripts publish on their key (with the client's keyPrefix, if any) followed by `:released`. */
  private channelOf(key: string): string {
    return `${this.keyPrefix}${key}:released`
  }

  private keyOf(channel: string): string {
    return channel.slice(this.keyPrefix.length, -':released'.length)
  }

  private get keyPrefix(): string {
    return this.connection.client?.options?.keyPrefix ?? ''
  }

  close(): void {
    this.closed = true
    this.listeners.clear()
    this.subscriber?.disconnect()
    this.subscriber = undefined
  }
}
