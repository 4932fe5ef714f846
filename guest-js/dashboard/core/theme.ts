/**
 * Light and dark themes: an explicit choice, else the one remembered, else the system's.
 * @module
 */

/** A theme in force. */
export type Theme = 'light' | 'dark'

/** The theme option of the dashboard: `auto` follows the system unless the user chose. */
export type ThemeOption = Theme | 'auto'

/** The localStorage key of the user's choice. */
const THEME_KEY = 'otel-dashboard-theme'

/** The theme to use: the option when explicit, else the stored choice, else the system's. */
export function resolveTheme(
  option: ThemeOption,
  stored: string | null,
  prefersDark: boolean
): Theme {
  if (option !== 'auto') return option
  if (stored === 'light' || stored === 'dark') return stored
  return prefersDark ? 'dark' : 'light'
}

/** The stored choice, or `null` (no storage, or nothing stored). */
export function storedTheme(): string | null {
  try {
    return localStorage.getItem(THEME_KEY)
  } catch {
    return null
  }
}

/** Remembers the user's choice; silently does nothing where storage is denied. */
export function storeTheme(theme: Theme): void {
  try {
    localStorage.setItem(THEME_KEY, theme)
  } catch {
    // Private modes may deny storage: the choice then lasts for this page only.
  }
}

/** The system's `prefers-color-scheme: dark` query, where the environment has one. */
export function darkQuery(): MediaQueryList | null {
  return typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null
}
