// A gateway of your own on @llmpool/gateway: a custom provider (`internal`) and per-team tokens, over the
// configuration in ./config. `INTERNAL_URL=http://127.0.0.1:9000/v1 TEAM_TOKENS=team-a:secret-a pnpm start`.
import { startReferenceGateway } from './app'

const gateway = await startReferenceGateway(process.env.TEAM_TOKENS ?? '', { port: Number(process.env.PORT ?? 8080) })
console.log(`gateway on ${gateway.url}`)
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void gateway.close().then(() => process.exit(0)))
