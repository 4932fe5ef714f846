/**
 * The colours charts take from the theme's CSS, read once per theme.
 * @module
 */

/** Used while the charts are not in the page yet, where no style applies. */
const FALLBACK = '#888'

/**
 * The axis colours of the theme in force (`--dash-muted` for labels, `--dash-grid` for
 * grid lines and ticks), read from the computed style of `element` the first time they
 * are asked for and kept until {@link ThemeColours.invalidate}: a redraw does not make
 * the browser compute styles.
 *
 * @example
 * ```ts
 * const colours = new ThemeColours(root)
 * const axis = { stroke: () => colours.muted, grid: { stroke: () => colours.grid } }
 * // on a theme change:
 * colours.invalidate()
 * ```
 */
export class ThemeColours {
  private read: { muted: string; grid: string } | undefined

  constructor(private readonly element: Element) {}

  /** Axis labels. */
  get muted(): string {
    return this.colours().muted
  }

  /** Grid lines and ticks. */
  get grid(): string {
    return this.colours().grid
  }

  /** Forgets them: the next read follows the theme now in force. */
  invalidate(): void {
    this.read = undefined
  }

  private colours(): { muted: string; grid: string } {
    if (this.read !== undefined) return this.read
    if (!this.element.isConnected) return { muted: FALLBACK, grid: FALLBACK }
    const style = getComputedStyle(this.element)
    const value = (name: string) => style.getPropertyValue(name).trim() || FALLBACK
    this.read = { muted: value('--dash-muted'), grid: value('--dash-grid') }
    return this.read
  }
}
