// CPU time of a process, for the gateway benchmarks' "server CPU per request": it moves less than requests/s when
// other work shares the machine, and it is each server's own cost whatever the others do.
import { existsSync, readFileSync } from 'node:fs'

/** CPU time (user + system) the process `pid` has used so far, in µs; undefined without /proc (not Linux). */
export function processCpuUs(pid: number | undefined): number | undefined {
  const file = `/proc/${pid}/stat`
  if (pid === undefined || !existsSync(file)) return undefined
  const fields = readFileSync(file, 'utf8').split(') ')[1]!.split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100 // USER_HZ is 100 on Linux
}
