// @vitest-environment node
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { TelemetryClient, httpTransport } from '../src/index'

// A stand-in for the engine's HTTP API: same paths, bodies and Server-Sent Events. The
// real engine is exercised by crates/engine/tests/http_api.rs and the dashboard tests.
let base = ''
let closedStreams = 0
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (req.method === 'POST' && url.pathname === '/api/get_snapshot') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ timestampMs: 9, series: [{ name: 'queue_size', labels: {}, value: 4 }] }))
  } else if (req.method === 'POST' && url.pathname === '/api/get_trace') {
    res.statusCode = 400
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ error: 'traceId: "x" is not 32 hex digits' }))
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
