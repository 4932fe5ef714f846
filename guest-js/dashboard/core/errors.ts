/**
 * The error strip: backend errors (a denied command, a server that went away) shown
 * once per command, never thrown to the page.
 * @module
 */
import { h } from './dom.js'

/** The text of anything a transport rejects with: IPC rejects with strings, HTTP with errors. */
function errorMessage(error: unknown): string {
  if (typeof error === 'string') return error
  if (error instanceof Error) return error.message
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String((error as { message: unknown }).message)
  }
  return String(error)
}

interface Entry {
  element: HTMLElement
  text: HTMLElement
  count: number
}

/**
 * One line per failing command, with how many times it failed; a later success of the
 * same command removes its line, and so does its dismiss button.
 *
 * @example
 * ```ts
 * const strip = new ErrorStrip()
 * root.append(strip.element)
 * strip.report('run_health_checks', 'not allowed')
 * ```
 */
export class ErrorStrip {
  /** The strip (`data-testid="error-strip"`), hidden while empty. */
  readonly element: HTMLElement = h('div', {
    class: 'error-strip',
    'data-testid': 'error-strip',
    role: 'status',
    hidden: true
  })
  private readonly entries = new Map<string, Entry>()

  /** Shows that `command` failed with `error`. */
  report(command: string, error: unknown): void {
    let entry = this.entries.get(command)
    if (entry === undefined) {
      const text = h('span', { class: 'error-text' })
      const dismiss = h(
        'button',
        { class: 'error-dismiss', title: 'Dismiss', 'aria-label': `Dismiss ${command} error` },
        '×'
      )
      const element = h('div', { class: 'error-entry', 'data-command': command }, text, dismiss)
      dismiss.addEventListener('click', () => this.clear(command))
      entry = { element, text, count: 0 }
      this.entries.set(command, entry)
      this.element.append(element)
    }
    entry.count += 1
    const times = entry.count > 1 ? ` (×${entry.count})` : ''
    entry.text.textContent = `${command}: ${errorMessage(error)}${times}`
    this.element.hidden = false
  }

  /** Removes the line of `command`, if any. */
  clear(command: string): void {
    const entry = this.entries.get(command)
    if (entry === undefined) return
    entry.element.remove()
    this.entries.delete(command)
    this.element.hidden = this.entries.size === 0
  }
}
