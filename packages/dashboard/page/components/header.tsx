import type { InstanceView } from '../../src/types'
import { clockTime, percent, rate, shortHash } from '../format'
import type { Model } from '../model'

const ORDER: InstanceView['status'][] = ['open', 'unhealthy', 'cooldown', 'half_open', 'draining', 'ok']
const WORDS: Record<InstanceView['status'], string> = {
  open: 'open',
  unhealthy: 'unhealthy',
  cooldown: 'in cooldown',
  half_open: 'in trial',
  draining: 'draining',
  ok: 'OK',
}

/** The page's first line: is it live, which configuration, and the whole router in a few numbers. */
export function Header({
  model,
  connection,
  onSignOut,
}: {
  model: Model | undefined
  connection: 'connecting' | 'live' | 'reconnecting'
  onSignOut?: () => void
}) {
  const instances = model ? [...model.instances.values()] : []
  let perSecond = 0
  let failed = 0
  let inFlight = 0
  const byStatus = new Map<InstanceView['status'], number>()
  for (const instance of instances) {
    perSecond += instance.window.requestsPerSecond
    failed += instance.window.requestsPerSecond * instance.window.errorRate
    inFlight += instance.inFlight
    byStatus.set(instance.status, (byStatus.get(instance.status) ?? 0) + 1)
  }
  return (
    <header class="top">
      <div class="brand">
        <h1>llmpool</h1>
        <span class={`connection connection-${connection}`} role="status">
          <span aria-hidden="true">{connection === 'live' ? '●' : '◌'}</span>{' '}
          {connection === 'live' ? 'live' : connection === 'connecting' ? 'connecting…' : 'reconnecting…'}
          {model && connection === 'live' ? <span class="muted"> · {clockTime(model.at)}</span> : null}
        </span>
      </div>
      {model ? (
        <dl class="totals">
          <div>
            <dt>configuration</dt>
            <dd>
              {model.configuration.version ? `v${model.configuration.version} · ` : ''}
              <code title={model.configuration.hash}>{shortHash(model.configuration.hash)}</code>
            </dd>
          </div>
          <div>
            <dt>req/s</dt>
            <dd>{rate(perSecond)}</dd>
          </div>
          <div>
            <dt>failed</dt>
            <dd class={failed > 0 ? 'bad' : ''}>{percent(perSecond > 0 ? failed / perSecond : 0)}</dd>
          </div>
          <div>
            <dt>in flight</dt>
            <dd>{inFlight}</dd>
          </div>
          <div>
            <dt>instances</dt>
            <dd class="status-counts">
              {ORDER.filter((status) => byStatus.has(status)).map((status) => (
                <span key={status} class={`count status-${status}`}>
                  {byStatus.get(status)} {WORDS[status]}
                </span>
              ))}
            </dd>
          </div>
        </dl>
      ) : null}
      {onSignOut ? (
        <button type="button" class="link sign-out" onClick={onSignOut}>
          sign out
        </button>
      ) : null}
    </header>
  )
}
