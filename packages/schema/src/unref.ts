/**
 * Lets a timer handle not keep Node alive, when the handle supports it. A clock's `setTimeout` may return anything
 * (a fake clock's handle is often a number), so this checks rather than calls `handle.unref()` blindly.
 */
export function unref(handle: unknown): void {
  if (typeof handle === 'object' && handle !== null && 'unref' in handle && typeof handle.unref === 'function')
    handle.unref()
}
