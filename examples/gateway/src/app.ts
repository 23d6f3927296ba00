import path from 'node:path'
import { type Gateway, type GatewayOptions, startGateway } from '@llmpool/gateway'
import { internalProvider } from './internal-provider'
import { teamAuth } from './team-auth'

export const CONFIG = path.join(import.meta.dirname, '..', 'config')

/** The reference gateway: ./config served with the `internal` provider and per-team tokens. */
export function startReferenceGateway(teamTokens: string, options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  return startGateway({
    config: CONFIG,
    providers: { internal: internalProvider('llmpool-example-gateway') },
    authorize: teamAuth(teamTokens),
    ...options,
  })
}
