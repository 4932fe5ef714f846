import { afterEach, describe, expect, it } from 'vitest'
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks'
import type { Channel } from '@tauri-apps/api/core'

import {
  getConsent,
  getLogs,
  getSnapshot,
  onAlert,
  onNotification,
  querySeries,
  setConsent,
  subscribeSeries,
  withSpan,
  type AlertEvent,
  type Notification,
  type SeriesUpdate
} from '../src/index'
import type { LiveEvent } from '../src/bindings/LiveEvent'

type Call = { cmd: string; args: Record<string, unknown> }

function record(answer: (call: Call) => unknown = () => null): Call[] {
  const calls: Call[] = []
  mockIPC(
    (cmd, args) => {
      const call = { cmd, args: (args ?? {}) as Record<string, unknown> }
      calls.push(call)
      return answer(call)
    },
    { shouldMockEvents: true }
  )
  return calls
}

afterEach(() => clearMocks())

describe('commands over IPC', () => {
  it('names the plugin command and passes camelCase arguments', async () => {
    const calls = record(({ cmd }) =>
      cmd.endsWith('get_snapshot') ? { timestampMs: 5, series: [] } : []
    )
    expect(await getSnapshot()).toEqual({ timestampMs: 5, series: [] })
    await querySeries({ name: 'queue_size', stepMs: 1000 })
    await getLogs()
    expect(calls.map((c) => c.cmd)).toEqual([
      'plugin:opentelemetry|get_snapshot',
      'plugin:opentelemetry|query_series',
      'plugin:opentelemetry|get_logs'
    ])
    expect(calls[1].args).toEqual({ query: { name: 'queue_size', stepMs: 1000 } })
    expect(calls[2].args).toEqual({ filter: null })
  })

  it('reads and sets the consent by its word', async () => {
    let consent = 'ask'
    const calls = record(({ cmd, args }) => {
      if (cmd.endsWith('set_consent')) consent = args.consent as string
      return cmd.endsWith('get_consent') ? consent : null
    })
    expect(await getConsent()).toBe('ask')
    await setConsent('granted')
    expect(await getConsent()).toBe('granted')
    expect(calls[1]).toEqual({
      cmd: 'plugin:opentelemetry|set_consent',
      args: { consent: 'granted' }
    })
  })

  it('rejects with the error the plugin names', async () => {
    record(() => {
      throw 'query.stepMs: must be greater than 0'
    })
    await expect(querySeries({ name: 'x', stepMs: 0 })).rejects.toBe(
      'query.stepMs: must be greater than 0'
    )
  })
})

describe('series streams', () => {
  it('delivers updates, acknowledges each, and unsubscribes', async () => {
    let channel: Channel<SeriesUpdate> | undefined
    const calls = record(({ cmd, args }) => {
      if (cmd.endsWith('subscribe_series')) {
        channel = args.onUpdate as Channel<SeriesUpdate>
        return 7
      }
      return null
    })
    const received: SeriesUpdate[] = []
    const stream = await subscribeSeries([{ name: 'queue_size' }], 250, (u) => received.push(u))
    expect(calls[0].args).toMatchObject({ selectors: [{ name: 'queue_size' }], intervalMs: 250 })
    const update: SeriesUpdate = {
      id: 7,
      seq: 1,
      timestampMs: 1,
      series: [{ name: 'queue_size', labels: {}, value: 3 }],
      dropped: 0
    }
    channel!.onmessage(update)
    expect(received).toEqual([update])
    await Promise.resolve()
    expect(calls.find((c) => c.cmd.endsWith('ack_series'))?.args).toEqual({ id: 7, seq: 1 })
    await stream.unsubscribe()
    expect(calls[calls.length - 1]).toEqual({ cmd: 'plugin:opentelemetry|unsubscribe_series', args: { id: 7 } })
  })
})

describe('events and spans', () => {
  /** Answers `subscribe_events` with ids 1, 2, … and keeps each subscription's channel. */
  function subscriptions() {
    const channels = new Map<number, Channel<LiveEvent>>()
    const calls = record(({ cmd, args }) => {
      if (cmd.endsWith('|subscribe_events')) {
        const id = channels.size + 1
        channels.set(id, args.onEvent as Channel<LiveEvent>)
        return id
      }
      return null
    })
    return { channels, calls }
  }

  it('subscribes on a channel of its own and passes alert events until it stops', async () => {
    const { channels, calls } = subscriptions()
    const seen: AlertEvent[] = []
    const stop = await onAlert((e) => seen.push(e))
    expect(calls[0]).toMatchObject({
      cmd: 'plugin:opentelemetry|subscribe_events',
      args: { kinds: ['alert'] }
    })
    const event = { notification: { rule: 'cpu_high' } } as unknown as AlertEvent
    channels.get(1)!.onmessage({ kind: 'alert', payload: event })
    expect(seen.map((e) => e.notification.rule)).toEqual(['cpu_high'])
    stop()
    await Promise.resolve()
    expect(calls[calls.length - 1]).toEqual({
      cmd: 'plugin:opentelemetry|unsubscribe_events',
      args: { id: 1 }
    })
  })

  it('passes in-app notifications, and only those, to onNotification', async () => {
    const { channels } = subscriptions()
    const seen: string[] = []
    const stop = await onNotification((n) => seen.push(`${n.rule}:${n.state}`))
    const channel = channels.get(1)!
    channel.onmessage({
      kind: 'alert',
      payload: { notification: { rule: 'cpu_high', state: 'Pending' } } as unknown as AlertEvent
    })
    channel.onmessage({
      kind: 'notification',
      payload: { rule: 'cpu_high', state: 'Firing' } as unknown as Notification
    })
    expect(seen).toEqual(['cpu_high:Firing'])
    stop()
  })

  it('withSpan ends the span, failed when the action throws, and gives its traceparent', async () => {
    const calls = record(({ cmd }) =>
      cmd.endsWith('start_span')
        ? { spanId: 'a1', traceId: 'b2', traceparent: '00-b2-a1-01' }
        : null
    )
    const headers = await withSpan('ui.export', async (span) => span.headers(), { screen: 'timeline' })
    expect(headers).toEqual({ traceparent: '00-b2-a1-01' })
    await expect(
      withSpan('ui.fail', async () => {
        throw new Error('disk full')
      })
    ).rejects.toThrow('disk full')
    const ends = calls.filter((c) => c.cmd.endsWith('end_span')).map((c) => c.args)
    expect(ends).toEqual([
      { spanId: 'a1', error: null },
      { spanId: 'a1', error: 'disk full' }
    ])
    expect(calls[0].args).toEqual({ span: { name: 'ui.export', attributes: { screen: 'timeline' } } })
  })
})
