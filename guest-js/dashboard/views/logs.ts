/**
 * Logs: a live tail (`getLogs` every second, only unseen records appended) with a minimum
 * level, a text filter and a session: every launch has its own `session.id`, and what a
 * previous launch left (its crash report) is of that launch. Opened with a session id
 * (the overview's crash card), it shows that session.
 * @module
 */
import type { LogFilter } from '../../src/index.js'
import { fill, h } from '../core/dom.js'
import { LogTail } from '../data/logtail.js'
import { type View, debounced, emptyNote, logRow, poll } from './common.js'

/** Rows kept in the tail. */
const LOG_CAP = 2000

/** How often the tail polls (ms). */
const POLL_MS = 1000

/** Filters apply once typing pauses this long (ms). */
const TYPING_MS = 250

/** Records asked for per poll. */
const POLL_LIMIT = 200

/** `minLevel` values (spelled as records' `level`, which the engine also accepts) and labels. */
const LEVELS: Array<[string, string]> = [
  ['TRACE', 'All levels'],
  ['DEBUG', 'Debug and above'],
  ['INFO', 'Info and above'],
  ['WARN', 'Warnings and errors'],
  ['ERROR', 'Errors only']
]

/** The logs view. */
export const logsView: View = (ctx, scope, session) => {
  const tail = new LogTail()
  const sessions = h(
    'select',
    { 'data-testid': 'log-session', 'aria-label': 'Session' },
    h('option', { value: '' }, 'All sessions')
  )
  let current: string | undefined
  /** Adds `id` to the session list once (this launch's first, labelled so). */
  const offer = (id: string) => {
    if ([...sessions.options].some((o) => o.value === id)) return
    const label = id === current ? `This session (${id.slice(0, 8)})` : `Session ${id.slice(0, 8)}`
    sessions.append(h('option', { value: id }, label))
  }
  if (session !== undefined) {
    offer(session)
    sessions.value = session
  }
  const list = h('ol', { class: 'log-list log-tail' })
  const level = h(
    'select',
    { 'data-testid': 'log-level', 'aria-label': 'Minimum level' },
    ...LEVELS.map(([value, label]) => h('option', { value }, label))
  )
  const text = h('input', {
    type: 'search',
    placeholder: 'Message or field contains',
    'aria-label': 'Text filter',
    'data-testid': 'log-filter'
  })
  let generation = 0
  let busy = false

  const pollOnce = async () => {
    if (busy) return
    busy = true
    const mine = generation
    const filter: LogFilter = {
      minLevel: level.value,
      limit: POLL_LIMIT,
      ...(text.value !== '' ? { text: text.value } : {}),
      ...(sessions.value !== '' ? { sessionId: sessions.value } : {})
    }
    const records = await ctx.call('get_logs', () => ctx.client.getLogs(filter))
    busy = false
    if (records === undefined || scope.closed || mine !== generation) return
    const fresh = tail.accept(records)
    for (const record of fresh) if (record.sessionId !== undefined) offer(record.sessionId)
    if (fresh.length === 0) return
    const follow = list.scrollHeight - list.scrollTop - list.clientHeight < 40
    list.append(...fresh.map((r) => logRow(r, (id) => ctx.navigate('traces', id), current)))
    while (list.childElementCount > LOG_CAP) list.firstElementChild?.remove()
    if (follow) list.scrollTop = list.scrollHeight
  }
  const restart = () => {
    generation += 1
    busy = false
    tail.reset()
    fill(list)
    void pollOnce()
  }
  level.addEventListener('change', restart)
  sessions.addEventListener('change', restart)
  text.addEventListener('input', debounced(scope, TYPING_MS, restart))
  // This launch's session first; the tail starts once it is known (or could not be).
  void ctx.call('get_resource', () => ctx.client.getResource()).then((resource) => {
    if (scope.closed) return
    current = resource?.['session.id']
    if (current !== undefined) {
      const chosen = sessions.value
      fill(sessions, h('option', { value: '' }, 'All sessions'))
      offer(current)
      if (chosen !== '') offer(chosen)
      sessions.value = chosen
    }
    poll(ctx, scope, POLL_MS, pollOnce)
  })

  return h(
    'div',
    { class: 'logs' },
    h('div', { class: 'filters' }, level, text, sessions),
    h('div', { class: 'log-box' }, list, emptyNote('No log record yet'))
  )
}
