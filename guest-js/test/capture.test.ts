import { afterEach, describe, expect, it, vi } from 'vitest'

import {
  type Capture,
  FRAME_SAMPLE_SHARE,
  LogSender,
  MAX_IN_FLIGHT,
  callSite,
  installCapture,
  measureUi
} from '../src/capture'
import type { UiTimings, WebviewLogEntry } from '../src/index'

let capture: Capture | undefined

afterEach(() => {
  capture?.stop()
  capture = undefined
})

/** A sender whose sends are recorded and resolve when `settle` says. */
function recording(answer: () => Promise<unknown> = async () => true) {
  const sent: WebviewLogEntry[] = []
  const sender = new LogSender(
    (entry) => {
      sent.push(entry)
      return answer()
    },
    () => '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
  )
  return { sent, sender }
}

describe('the webview capture', () => {
  it('sends an uncaught error with its exception, source and the current UI span', () => {
    const { sent, sender } = recording()
    capture = installCapture(sender, { console: [] })
    const error = new TypeError('project.clips is undefined')
    window.dispatchEvent(
      new ErrorEvent('error', {
        error,
        message: 'Uncaught TypeError: project.clips is undefined',
        filename: 'http://tauri.localhost/assets/index.js',
        lineno: 12,
        colno: 7
      })
    )
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatchObject({
      level: 'error',
      message: 'Uncaught TypeError: project.clips is undefined',
      exception: { type: 'TypeError', message: 'project.clips is undefined' },
      source: { url: 'http://tauri.localhost/assets/index.js', line: 12, column: 7 },
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    })
    expect(sent[0].exception?.stacktrace).toContain('TypeError')
  })

  it('sends an unhandled rejection, and what is not an Error by its text', () => {
    const { sent, sender } = recording()
    capture = installCapture(sender, { console: [] })
    const rejection = new Event('unhandledrejection') as PromiseRejectionEvent
    Object.defineProperty(rejection, 'reason', { value: { code: 42 } })
    window.dispatchEvent(rejection)
    expect(sent[0]).toMatchObject({
      level: 'error',
      message: 'Unhandled rejection: {"code":42}',
      exception: { type: 'unhandledrejection', message: '{"code":42}' }
    })
  })

  it('captures the console methods asked for, still prints, and gives them back', () => {
    const { sent, sender } = recording()
    const printed = vi.fn()
    const warn = console.warn
    console.warn = printed
    try {
      capture = installCapture(sender, { console: ['warn'], errors: false })
      console.warn('preview fell behind by', 3, 'frames', { clip: 'intro.mov' })
      console.info('not captured')
      expect(printed).toHaveBeenCalledTimes(1)
      expect(sent).toHaveLength(1)
      expect(sent[0]).toMatchObject({
        level: 'warn',
        message: 'preview fell behind by 3 frames {"clip":"intro.mov"}',
        attributes: { 'log.source': 'console.warn' }
      })
      capture.stop()
      capture = undefined
      expect(console.warn).toBe(printed)
    } finally {
      console.warn = warn
    }
  })

  it('keeps at most MAX_IN_FLIGHT on their way and counts the rest', () => {
    const { sent, sender } = recording(() => new Promise(() => {}))
    for (let i = 0; i < MAX_IN_FLIGHT + 10; i += 1) sender.log('info', `tick ${i}`)
    expect(sent).toHaveLength(MAX_IN_FLIGHT)
    expect(sender.dropped).toBe(10)
  })

  it('stops sending after the plugin refuses for want of the permission', async () => {
    const { sent, sender } = recording(() =>
      Promise.reject('plugin:opentelemetry|log not allowed. Command not found')
    )
    sender.log('error', 'first')
    await vi.waitFor(() => expect(sender.dropped).toBe(1))
    sender.log('error', 'second')
    expect(sent).toHaveLength(1)
    expect(sender.dropped).toBe(2)
  })

  it('finds the call site in WebKit and Chromium stacks', () => {
    // WebKit names the frame of LogSender.log just `log`: the caller is the next one.
    expect(
      callSite('log@http://tauri.localhost/assets/index.js:1:100\nexportProject@http://tauri.localhost/assets/index.js:40:9')
    ).toEqual({ url: 'http://tauri.localhost/assets/index.js', line: 40, column: 9 })
    expect(
      callSite('Error\n    at LogSender.log (http://localhost/capture.js:3:1)\n    at save (http://localhost/app.js:7:5)')
    ).toEqual({ url: 'http://localhost/app.js', line: 7, column: 5 })
  })
})

describe('the UI measurements', () => {
  it('samples frame gaps in bursts while visible, nothing while hidden, and stops', async () => {
    vi.useFakeTimers()
    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('visible')
    const raf = vi
      .spyOn(window, 'requestAnimationFrame')
      .mockImplementation((cb) => setTimeout(() => cb(performance.now()), 20) as unknown as number)
    const cancel = vi
      .spyOn(window, 'cancelAnimationFrame')
      .mockImplementation((id) => clearTimeout(id as unknown as ReturnType<typeof setTimeout>))
    const reports: UiTimings[] = []
    // Reports every 1000 ms, so bursts of 100 ms: 5 frames 20 ms apart, 4 gaps.
    const stop = measureUi(async (t) => {
      reports.push(t)
    }, 1000)
    try {
      await vi.advanceTimersByTimeAsync(1000)
      expect(reports).toHaveLength(1)
      const frames = reports[0].frameIntervalsMs
      expect(frames.length).toBeGreaterThanOrEqual(3)
      expect(frames.length).toBeLessThanOrEqual(6)
      expect(frames.every((gap) => gap >= 19 && gap <= 21)).toBe(true)
      // Between bursts no frame is requested: over 10 periods, a burst's worth each.
      const before = raf.mock.calls.length
      await vi.advanceTimersByTimeAsync(10_000)
      expect(reports).toHaveLength(11)
      expect(raf.mock.calls.length - before).toBeLessThanOrEqual(10 * ((FRAME_SAMPLE_SHARE * 1000) / 20 + 1))
      expect(reports.slice(1).every((r) => r.frameIntervalsMs.length >= 3)).toBe(true)
      // Hidden: no frame is requested, nothing is measured, no report is sent.
      visibility.mockReturnValue('hidden')
      document.dispatchEvent(new Event('visibilitychange'))
      const requested = raf.mock.calls.length
      const sent = reports.length
      await vi.advanceTimersByTimeAsync(3000)
      expect(raf.mock.calls.length).toBe(requested)
      // At most the report of the burst that ran before the hiding.
      expect(reports.length).toBeLessThanOrEqual(sent + 1)
    } finally {
      stop()
      raf.mockRestore()
      cancel.mockRestore()
      visibility.mockRestore()
      vi.useRealTimers()
    }
  })
})
