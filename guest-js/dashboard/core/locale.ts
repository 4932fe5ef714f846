/**
 * Makes the page load under the POSIX locale. uPlot builds
 * `new Intl.NumberFormat(navigator.language)` when its module is evaluated, and WebKitGTK
 * (the Tauri webview on Linux) reports the language `C` when `LANG` is unset, which `Intl`
 * rejects with a RangeError: the whole dashboard would fail to load. Imported before uPlot,
 * this module makes a language `Intl` cannot use read as `en-US`.
 * @module
 */

/** Whether `Intl` accepts `tag` as a locale. */
export function isUsableLocale(tag: string): boolean {
  try {
    new Intl.NumberFormat(tag)
    return true
  } catch {
    return false
  }
}

if (typeof navigator !== 'undefined' && !isUsableLocale(navigator.language)) {
  Object.defineProperty(navigator, 'language', { configurable: true, get: () => 'en-US' })
}
