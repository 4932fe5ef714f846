/**
 * The entry of the dashboard page the engine embeds. Served over HTTP by the engine, it
 * reads the engine at this page's origin, read-only, with the bearer token given once as
 * `?token=`. Served by the Tauri plugin to its panel window (`?transport=ipc`), it talks
 * over Tauri IPC, with the write commands offered when the plugin says so (`&write=1`;
 * the window's capability decides what is allowed either way).
 * @module
 */
import './index.css'
import './page.css'

import { TelemetryClient, httpTransport, tauriTransport } from '../src/index.js'
import { mountDashboard } from './index.js'
import { takeToken } from './token.js'

const root = document.getElementById('root')
const params = new URLSearchParams(location.search)
if (root !== null && params.get('transport') === 'ipc') {
  // The plugin's panel window; the default "Save bundle" (with write) is writeDiagnostics.
  const title = params.get('title') ?? 'Telemetry'
  document.title = title
  mountDashboard(root, { client: new TelemetryClient(tauriTransport()), canWrite: params.get('write') === '1', title })
} else if (root !== null) {
  const token = takeToken()
  const client = new TelemetryClient(httpTransport(location.origin, fetch, { token }))
  mountDashboard(root, { client, canWrite: false, title: 'Telemetry', saveBundle: () => download(token) })
}

/** Downloads the engine's diagnostics bundle of the last 15 minutes as a file. */
async function download(token: string | undefined): Promise<string> {
  const response = await fetch(`${location.origin}/api/diagnostics?minutes=15`, {
    headers: token !== undefined ? { authorization: `Bearer ${token}` } : {}
  })
  if (!response.ok) throw new Error(`diagnostics: HTTP ${response.status}`)
  const disposition = response.headers.get('content-disposition') ?? ''
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'diagnostics.json.gz'
  const url = URL.createObjectURL(await response.blob())
  const link = document.createElement('a')
  link.href = url
  link.download = name
  link.click()
  // The download has its own copy once it started; a minute is ample.
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
  return `Downloaded ${name}`
}
