/**
 * What every view shares: the client, the write permission, the error strip, and the
 * settings of the header (range, pause, theme) with their change notifications.
 * @module
 */
import type { TelemetryClient } from '../../src/index.js'
import type { ErrorStrip } from './errors.js'
import type { RangeId } from './range.js'
import type { Scope, Stop } from './scope.js'
import type { Theme } from './theme.js'

/** A header setting that changed. */
export type Setting = 'range' | 'paused' | 'theme'

/** The dashboard's tabs, in navigation order. */
export const TABS = ['overview', 'metrics', 'traces', 'logs', 'health', 'alerts'] as const

/** One tab. */
export type Tab = (typeof TABS)[number]

/**
 * The state views share. Commands go through {@link Context.call} so that a failure lands
 * in the error strip instead of the console.
 */
export class Context {
  /** The range the charts show. */
  range: RangeId = '5m'
  /** Whether live updates are held. */
  paused = false
  /** The theme in force. */
  theme: Theme = 'light'
  private readonly watchers = new Set<(setting: Setting) => void>()

  constructor(
    /** The plugin's client. */
    readonly client: TelemetryClient,
    /** Whether write commands (run checks, silence, acknowledge) are offered. */
    readonly canWrite: boolean,
    /** Where failures show. */
    readonly errors: ErrorStrip,
    /** Switches to a tab, with what to show there: a trace id on the traces tab, a session id on the logs tab. */
    readonly navigate: (tab: Tab, target?: string) => void,
    /** The time the views show as "now" (Unix ms): the clock, or a bundle's writing time. */
    readonly now: () => number = Date.now
  ) {}

  /** Changes a setting and tells the watchers. */
  set<K extends Setting>(setting: K, value: this[K]): void {
    if (this[setting] === value) return
    this[setting] = value
    for (const watch of [...this.watchers]) watch(setting)
  }

  /** Calls `watch` on every setting change until `scope` closes. */
  watch(scope: Scope, watch: (setting: Setting) => void): void {
    this.watchers.add(watch)
    scope.add(() => this.watchers.delete(watch))
  }

  /**
   * Runs one command; resolves to its answer, or to `undefined` after showing the error
   * under the command's name. A success clears that command's earlier error.
   */
  async call<T>(command: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      const answer = await run()
      this.errors.clear(command)
      return answer
    } catch (error) {
      this.errors.report(command, error)
      return undefined
    }
  }

  /** Starts a stream or listener and stops it when `scope` closes (at once if it already has). */
  async start(scope: Scope, command: string, begin: () => Promise<Stop>): Promise<void> {
    const stop = await this.call(command, begin)
    if (stop !== undefined) scope.add(stop)
  }
}
