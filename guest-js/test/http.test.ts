// @vitest-environment node
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { TelemetryClient, httpTransport } from '../src/index'

// A stand-in for the engine's HTTP API: same paths, bodies and Server-Sent Events. The
// real engine is exercised by crates/engine/tests/http_api.rs and the dashboard tests.
let base = ''
let closedStreams = 0
const TOKEN = 'a-token-of-24-characters'
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (req.method === 'POST' && url.pathname === '/api/get_snapshot') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ timestampMs: 9, series: [{ name: 'queue_size', labels: {}, value: 4 }] }))
  } else if (req.method === 'POST' && url.pathname === '/api/get_trace') {
    res.statusCode = 400
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ error: 'traceId: "x" is not 32 hex digits' }))
  } else if (url.pathname === '/api/get_config' || url.pathname === '/api/events') {
    // Routes behind a bearer token, as the engine serves them with `http_token` set.
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'missing or wrong bearer token' }))
    } else if (url.pathname === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(`event: health\ndata: ${JSON.stringify({ check: 'ffmpeg', to: 'Healthy' })}\n\n`)
    } else {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ serviceName: 'studio' }))
    }
  } else if (url.pathname === '/api/subscribe_series') {
    expect(JSON.parse(url.searchParams.get('selectors') ?? '[]')).toEqual([{ name: 'queue_size' }])
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    let seq = 0
    const tick = setInterval(() => {
      seq += 1
      const update = { id: 1, seq, timestampMs: seq, series: [], dropped: 0 }
      res.write(`event: update\ndata: ${JSON.stringify(update)}\n\n`)
    }, 20)
    req.on('close', () => {
      clearInterval(tick)
      closedStreams += 1
    })
  } else {
    res.statusCode = 404
    res.end(JSON.stringify({ error: 'not found' }))
  }
})

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('the HTTP transport', () => {
  it('answers commands and rejects with the API error', async () => {
    const client = new TelemetryClient(httpTransport(base))
    expect((await client.getSnapshot()).series[0].value).toBe(4)
    await expect(client.getTrace('x')).rejects.toThrow('traceId: "x" is not 32 hex digits')
  })

  it('streams Server-Sent Events as an async iterator and hangs up when the loop ends', async () => {
    const client = new TelemetryClient(httpTransport(base + '/'))
    const seqs: number[] = []
    for await (const update of client.series([{ name: 'queue_size' }], 100)) {
      seqs.push(update.seq)
      if (seqs.length === 3) break
    }
    expect(seqs[0]).toBe(1)
    expect(seqs).toHaveLength(3)
    expect(seqs[2]).toBeGreaterThan(seqs[1])
    await expect.poll(() => closedStreams).toBe(1)
  })
})

describe('the HTTP transport with a token', () => {
  it('sends the bearer token with every command and event stream', async () => {
    const client = new TelemetryClient(httpTransport(base, fetch, { token: TOKEN }))
    expect(await client.getConfig()).toEqual({ serviceName: 'studio' })
    let changed: (change: unknown) => void = () => {}
    const change = new Promise<unknown>((resolve) => (changed = resolve))
    const stop = await client.onHealthChange(changed)
    expect(await change).toEqual({ check: 'ffmpeg', to: 'Healthy' })
    stop()
  })

  it('is refused without it, with the API error', async () => {
    const client = new TelemetryClient(httpTransport(base))
    await expect(client.getConfig()).rejects.toThrow('missing or wrong bearer token')
    await expect(client.onHealthChange(() => {})).rejects.toThrow('missing or wrong bearer token')
  })
})
