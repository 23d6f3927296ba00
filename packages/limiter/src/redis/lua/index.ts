import type { RedisClientLike } from '../client'
import { applyScript } from './apply'
import { renewScript } from './renew'
import { stateScript } from './state'

type Argument = string | number

/**
 * The scripts as client methods. A plain limiter's calls have a fixed number of keys, given at definition, so that
 * the keys come first: ioredis' auto-pipelining on a `Cluster` groups a call by its first argument, and would group
 * by the number of keys otherwise (sending a pipeline of several limiters to the wrong node). Only an atomic
 * composite, which exists on a standalone Redis alone, passes the number of keys first (`…Many…`).
 */
export interface ScriptCommands {
  /** Apply: the limiter's key, its queue's two keys, then the arguments (see `apply.ts`). */
  llmpoolLimiterApplyV3(key: string, queue: string, expiry: string, ...args: Argument[]): Promise<number[]>
  /** Apply for an atomic composite: number of keys (parts + 2), the parts' keys, the queue's keys, the arguments. */
  llmpoolLimiterApplyManyV3(numberOfKeys: number, ...keysAndArguments: Argument[]): Promise<number[]>
  /** Renew: one concurrency key, then the arguments (see `renew.ts`). */
  llmpoolLimiterRenewV3(key: string, ...args: Argument[]): Promise<number>
  /** State: the limiter's key, then the arguments (see `state.ts`). */
  llmpoolLimiterStateV3(key: string, ...args: Argument[]): Promise<number[]>
  /** State for an atomic composite: the number of keys first. */
  llmpoolLimiterStateManyV3(numberOfKeys: number, ...keysAndArguments: Argument[]): Promise<number[]>
}

export type ScriptClient = RedisClientLike & ScriptCommands

/**
 * Registers the scripts on a client with `defineCommand`: ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT,
 * so a restarted or flushed Redis just works. The names carry a version, so that two copies of this package with
 * different scripts can share one client (V2: the shared queue, keys first; V3: a fixed window keeps its length until
 * it ends, so that a reconfigured limiter keeps its count, and a refund ticket is the window's end).
 */
export function defineScripts(client: RedisClientLike): ScriptClient {
  const scripted = client as ScriptClient
  if (typeof scripted.llmpoolLimiterApplyV3 !== 'function') {
    client.defineCommand('llmpoolLimiterApplyV3', { lua: applyScript, numberOfKeys: 3 })
    client.defineCommand('llmpoolLimiterApplyManyV3', { lua: applyScript })
    client.defineCommand('llmpoolLimiterRenewV3', { lua: renewScript, numberOfKeys: 1 })
    client.defineCommand('llmpoolLimiterStateV3', { lua: stateScript, numberOfKeys: 1 })
    client.defineCommand('llmpoolLimiterStateManyV3', { lua: stateScript })
  }
  return scripted
}
