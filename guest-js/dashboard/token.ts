/**
 * The bearer token of the page the engine serves: given once in the address, kept for the
 * tab's lifetime.
 * @module
 */

/** Where the token is kept for the tab's lifetime. */
export const TOKEN_KEY = 'otel-dashboard-token'

/**
 * The bearer token: taken from `?token=` (then kept in sessionStorage and removed from the
 * address bar, so it is not bookmarked or shared by accident), else the one kept earlier.
 * An empty `?token=` forgets the kept one.
 *
 * @example
 * ```ts
 * // at http://127.0.0.1:9090/?token=s3cr3t-s3cr3t-s3cr3t
 * takeToken() // 's3cr3t-s3cr3t-s3cr3t'; the address is now http://127.0.0.1:9090/
 * ```
 */
export function takeToken(): string | undefined {
  const url = new URL(location.href)
  const given = url.searchParams.get('token')
  if (given !== null) {
    url.searchParams.delete('token')
    history.replaceState(history.state, '', url.pathname + url.search + url.hash)
    try {
      if (given === '') sessionStorage.removeItem(TOKEN_KEY)
      else sessionStorage.setItem(TOKEN_KEY, given)
    } catch {
      // Storage denied: the token works for this load only.
    }
    return given || undefined
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY) || undefined
  } catch {
    return undefined
  }
}
