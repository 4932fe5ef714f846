// Helpers of the end-to-end tests: free ports, child processes that are always stopped,
// waiting on a condition instead of sleeping.
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Where screenshots go (uploaded as test artifacts). */
export const artifacts = join(repo, 'test-artifacts')
mkdirSync(artifacts, { recursive: true })

/** The example apps' binaries, built by `cargo build -p studio -p minimal`. */
export const studioBinary = join(repo, 'target', 'debug', 'studio')
export const minimalBinary = join(repo, 'target', 'debug', 'minimal')

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

const running = new Set()

/**
 * Starts `command` and resolves once a line of its output matches `ready` (with the
 * match), rejecting if it exits first or `timeoutMs` passes. Every started process is
 * killed by `stopAll()`.
 */
export function start(command, args, { env = {}, ready, timeoutMs = 60_000, name = command } = {}) {
  // Its own process group, so that stopping it also stops what it started
  // (tauri-driver → WebKitWebDriver → the app → WebKit's processes).
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  })
  running.add(child)
  const output = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${name} did not print ${ready} within ${timeoutMs} ms:\n${output.join('\n')}`))
    }, timeoutMs)
    const onLine = (line) => {
      output.push(line)
      if (output.length > 200) output.shift()
      const match = ready === undefined ? null : line.match(ready)
      if (match !== null) {
        clearTimeout(timer)
        resolve({ child, match, output })
      }
    }
    createInterface({ input: child.stdout }).on('line', onLine)
    createInterface({ input: child.stderr }).on('line', onLine)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output.join('\n')}`))
    })
    if (ready === undefined) {
      clearTimeout(timer)
      resolve({ child, match: null, output })
    }
  })
}

/** Signals the process group of `child`; a group already gone is fine. */
function signal(child, name) {
  try {
    process.kill(-child.pid, name)
  } catch {
    // Already exited.
  }
}

/** Stops one process and its group: SIGTERM, then SIGKILL if still there after 5 s. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    signal(child, 'SIGKILL')
    return
  }
  const exited = new Promise((resolve) => child.once('exit', resolve))
  signal(child, 'SIGTERM')
  const timer = setTimeout(() => signal(child, 'SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
  signal(child, 'SIGKILL')
}

// Whatever ends the test process (a failure, a timeout, Ctrl-C), nothing it started stays.
process.on('exit', () => {
  for (const child of running) signal(child, 'SIGKILL')
})

/** Stops every process started with `start`. */
export async function stopAll() {
  await Promise.all([...running].map(stop))
}

/**
 * Polls `probe` until it returns a truthy value and resolves with it; rejects with the
 * last value or error after `timeoutMs`.
 */
export async function waitFor(what, probe, { timeoutMs = 30_000, everyMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      last = await probe()
      if (last) return last
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${String(last)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/**
 * A client of the WebDriver server at `base` (classic protocol, JSON over HTTP): `wd` sends
 * one command and resolves to its value; `run(session, script, ...args)` runs `script` (a
 * function body) in the session's current window.
 */
export function webDriver(base) {
  const wd = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const json = await response.json()
    if (!response.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value ?? json)}`)
    return json.value
  }
  const run = (session, script, ...args) => wd('POST', `/session/${session}/execute/sync`, { script, args })
  return { wd, run }
}
