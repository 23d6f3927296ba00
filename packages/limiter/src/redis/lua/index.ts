import type { Cluster, Redis } from 'ioredis'
import { applyScript } from './apply'
import { renewScript } from './renew'
import { stateScript } from './state'

type Argument = string | number

/**
 * The scripts as client methods. The first argument is the number of keys (the parts of the limiter; for apply, then
 * its queue's two keys).
 */
export interface ScriptCommands {
  llmpoolLimiterApplyV2(numberOfKeys: number, ...keysAndArguments: Argument[]): Promise<number[]>
  llmpoolLimiterRenewV1(numberOfKeys: number, ...keysAndArguments: Argument[]): Promise<number>
  llmpoolLimiterStateV1(numberOfKeys: number, ...keysAndArguments: Argument[]): Promise<number[]>
}

export type ScriptClient = (Redis | Cluster) & ScriptCommands

/**
 * Registers the scripts on a client with `defineCommand`: ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT,
 * so a restarted or flushed Redis just works. The names carry a version, so that two copies of this package with
 * different scripts can share one client (V2 of apply: the shared queue and its places).
 */
export function defineScripts(client: Redis | Cluster): ScriptClient {
  const scripted = client as ScriptClient
  if (typeof scripted.llmpoolLimiterApplyV2 !== 'function') {
    client.defineCommand('llmpoolLimiterApplyV2', { lua: applyScript })
    client.defineCommand('llmpoolLimiterRenewV1', { lua: renewScript })
    client.defineCommand('llmpoolLimiterStateV1', { lua: stateScript })
  }
  return scripted
}
