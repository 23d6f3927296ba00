import { useEffect, useMemo, useState } from 'preact/hooks'
import { Configuration } from './components/configuration'
import { Detail } from './components/detail'
import { EventFeed } from './components/events'
import { Header } from './components/header'
import { Login } from './components/login'
import { TargetTree } from './components/tree'
import { follow, savedToken, tokenWorks } from './connection'
import { activity, filterTargets, fromHello, type Model, withTick } from './model'

type Access = { state: 'open'; token: string | undefined } | { state: 'login'; refused: boolean }

export function App() {
  const [access, setAccess] = useState<Access>({ state: 'open', token: savedToken.get() })
  const [model, setModel] = useState<Model | undefined>(undefined)
  const [connection, setConnection] = useState<'connecting' | 'live' | 'reconnecting'>('connecting')
  const [selected, setSelected] = useState<string | undefined>(undefined)

  useEffect(() => {
    if (access.state !== 'open') return
    const stop = new AbortController()
    void follow(
      access.token,
      {
        hello: (message) => setModel(fromHello(message)),
        tick: (message) => setModel((current) => (current ? withTick(current, message) : current)),
        unauthorized: () => {
          savedToken.clear()
          setModel(undefined)
          setAccess({ state: 'login', refused: access.token !== undefined })
        },
        status: setConnection,
      },
      stop.signal,
    )
    return () => stop.abort()
  }, [access])

  const targets = useMemo(() => (model ? filterTargets(model.tree) : []), [model?.tree])
  const sparks = useMemo(() => (model ? activity(model) : new Map()), [model?.at, model?.points])

  if (access.state === 'login') {
    return (
      <Login
        refused={access.refused}
        onToken={async (token) => {
          if (!(await tokenWorks(token))) return false
          savedToken.set(token)
          setConnection('connecting')
          setAccess({ state: 'open', token })
          return true
        }}
      />
    )
  }
  const signOut =
    access.token !== undefined
      ? () => {
          savedToken.clear()
          setModel(undefined)
          setAccess({ state: 'login', refused: false })
        }
      : undefined
  return (
    <div class="page">
      <a class="skip" href="#events-title">
        Skip to events
      </a>
      <Header model={model} connection={connection} {...(signOut ? { onSignOut: signOut } : {})} />
      {model ? (
        <main class="layout">
          <div class="column-main">
            <section class="panel targets" aria-labelledby="targets-title">
              <div class="panel-head">
                <h2 id="targets-title">Targets</h2>
                <span class="hint">
                  wrappers → pools → tiers → group.echelon → instances · ↑↓ to move, Enter to select
                </span>
              </div>
              <TargetTree
                tree={model.tree}
                instances={model.instances}
                activity={sparks}
                selected={selected}
                onSelect={(key) => setSelected(key === selected ? undefined : key)}
              />
            </section>
            <Configuration model={model} />
          </div>
          <div class="column-side">
            <Detail model={model} selected={selected} onClear={() => setSelected(undefined)} />
            <EventFeed events={model.events} targets={targets} />
          </div>
        </main>
      ) : (
        <main class="layout">
          <p class="hint loading">Connecting to the router…</p>
        </main>
      )}
    </div>
  )
}
