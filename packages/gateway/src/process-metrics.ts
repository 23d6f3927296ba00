import { collectDefaultMetrics, Registry } from 'prom-client'

let registry: Registry | undefined

/**
 * The process's own metrics under the names Node.js dashboards read: prom-client's default metrics
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`, `process_start_time_seconds`,
 * `nodejs_heap_size_used_bytes`, `nodejs_eventloop_lag_seconds`, `nodejs_gc_duration_seconds`, ...). Most are read
 * when scraped; GC durations come from a PerformanceObserver and the event-loop figures from `monitorEventLoopDelay`,
 * neither on a request's path.
 *
 * One registry per process, made by the first gateway: the figures describe the process however many gateways it
 * runs, and prom-client cannot stop its GC observer and event-loop monitor, so a registry per gateway would leave
 * one more of each behind at every start. Its own registry, not prom-client's global one, so an application that
 * embeds the gateway and uses prom-client itself gets no duplicate-name error.
 */
export function processMetrics(): Registry {
  if (!registry) {
    registry = new Registry()
    collectDefaultMetrics({ register: registry })
  }
  return registry
}
