import type { HistoryRecord } from '../../src/types'
import { clockTime, shortHash } from '../format'
import type { Model } from '../model'

/** The configuration in force, and every load of it: applied with what changed, rejected with why. */
export function Configuration({ model }: { model: Model }) {
  const records = [...model.history].reverse()
  return (
    <section class="panel configuration" aria-labelledby="configuration-title">
      <div class="panel-head">
        <h2 id="configuration-title">Configuration</h2>
      </div>
      <dl class="facts facts-inline">
        <dt>Version</dt>
        <dd>{model.configuration.version ?? '–'}</dd>
        <dt>Hash</dt>
        <dd>
          <code title={model.configuration.hash}>{shortHash(model.configuration.hash)}</code>
        </dd>
        <dt>Loads</dt>
        <dd>
          {model.history.filter((record) => record.status === 'applied').length} applied,{' '}
          {model.history.filter((record) => record.status === 'rejected').length} rejected
        </dd>
      </dl>
      {records.length === 0 ? (
        <p class="hint">No history: this router was given a configuration, not a store.</p>
      ) : (
        <ol class="history" aria-label="Configuration history, newest first">
          {records.map((record, index) => (
            <Record
              key={`${record.at}-${record.status}-${index}`}
              record={record}
              open={index === 0 && record.status === 'rejected'}
            />
          ))}
        </ol>
      )}
    </section>
  )
}

function Record({ record, open }: { record: HistoryRecord; open: boolean }) {
  const applied = record.status === 'applied'
  return (
    <li class={`history-record ${record.status}`} data-status={record.status}>
      <details open={open}>
        <summary>
          <span class={`badge ${applied ? 'level-ok' : 'level-error'}`}>
            <span aria-hidden="true">{applied ? '✔' : '✖'}</span> {applied ? 'applied' : 'rejected'}
          </span>
          <time dateTime={new Date(record.at).toISOString()}>{clockTime(record.at)}</time>
          <span class="muted">{record.trigger}</span>
          {applied ? <code>{shortHash(record.hash)}</code> : null}
          {record.version ? <span class="muted">v{record.version}</span> : null}
          <span class="muted">
            {applied
              ? describe(record)
              : `${record.problems?.length ?? 0} problem${record.problems?.length === 1 ? '' : 's'}`}
          </span>
        </summary>
        {applied ? <Changes record={record} /> : <Problems record={record} />}
      </details>
    </li>
  )
}

const describe = (record: HistoryRecord) => {
  if (record.trigger === 'initial') return 'first load'
  const count = record.summary?.length ?? 0
  return count === 0 ? 'nothing changed' : `${count} entr${count === 1 ? 'y' : 'ies'} changed`
}

function Changes({ record }: { record: HistoryRecord }) {
  if (record.changes && record.changes.length > 0) {
    return (
      <table class="diff">
        <caption class="visually-hidden">Changed values</caption>
        <thead>
          <tr>
            <th scope="col">key</th>
            <th scope="col">before</th>
            <th scope="col">after</th>
          </tr>
        </thead>
        <tbody>
          {record.changes.map((change) => (
            <tr key={change.path}>
              <th scope="row">
                <code>{change.path}</code>
              </th>
              <td class="before">
                {change.before === undefined ? (
                  <span class="muted">{change.after === undefined ? '(secret)' : '(none)'}</span>
                ) : (
                  <code>− {change.before}</code>
                )}
              </td>
              <td class="after">
                {change.after === undefined ? (
                  <span class="muted">{change.before === undefined ? '(secret, changed)' : '(removed)'}</span>
                ) : (
                  <code>+ {change.after}</code>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )
  }
  if (!record.summary || record.summary.length === 0)
    return (
      <p class="hint">
        {record.trigger === 'initial' ? 'The first configuration of this process.' : 'No entry changed.'}
      </p>
    )
  return (
    <ul class="summary-lines">
      {record.summary.map((line) => (
        <li key={line}>
          <code>{line}</code>
        </li>
      ))}
    </ul>
  )
}

function Problems({ record }: { record: HistoryRecord }) {
  return (
    <ul class="problems">
      {(record.problems ?? []).map((problem, index) => (
        <li key={index}>
          <code>
            {problem.file}
            {problem.line ? `:${problem.line}` : ''}
          </code>{' '}
          {problem.path ? <code>{problem.path}</code> : null} {problem.message}
        </li>
      ))}
    </ul>
  )
}
