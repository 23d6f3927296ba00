/** Lets a timer handle not keep Node alive, when the handle supports it (fake clocks' handles may not). */
export function unref(handle: unknown): void {
  if (typeof handle === 'object' && handle !== null && 'unref' in handle && typeof handle.unref === 'function') {
    handle.unref()
  }
}
