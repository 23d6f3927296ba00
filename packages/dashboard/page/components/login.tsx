import { useState } from 'preact/hooks'

/**
 * The prompt for the gateway's token. The token is checked against the data, then kept for this tab only
 * (sessionStorage) and sent in the Authorization header: never in a URL, never in the page.
 */
export function Login({ refused, onToken }: { refused: boolean; onToken(token: string): Promise<boolean> }) {
  const [token, setToken] = useState('')
  const [busy, setBusy] = useState(false)
  const [wrong, setWrong] = useState(refused)
  const submit = async (event: Event) => {
    event.preventDefault()
    if (token.trim() === '') return
    setBusy(true)
    const works = await onToken(token.trim())
    setBusy(false)
    if (!works) setWrong(true)
  }
  return (
    <main class="login">
      <form class="panel login-form" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">llmpool dashboard</h1>
        <p>
          This dashboard shows the live state of a gateway. It needs the gateway's token (its{' '}
          <code>LLMPOOL_GATEWAY_TOKEN</code>).
        </p>
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          autoFocus
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-describedby={wrong ? 'token-error' : undefined}
        />
        {wrong ? (
          <p id="token-error" class="error" role="alert">
            <span aria-hidden="true">✖</span> That token was refused.
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Open the dashboard'}
        </button>
        <p class="hint">The token is kept for this browser tab only, and sent in a header, never in the address.</p>
      </form>
    </main>
  )
}
