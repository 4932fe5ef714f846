/**
 * The entry of the dashboard page the engine serves over HTTP: reads the engine at this
 * page's origin, read-only, with the bearer token given once as `?token=`.
 * @module
 */
import './page.css'

import { TelemetryClient, httpTransport } from '../src/index.js'
import { mountDashboard } from './index.js'
import { takeToken } from './token.js'

const root = document.getElementById('root')
if (root !== null) {
  const token = takeToken()
  const client = new TelemetryClient(httpTransport(location.origin, fetch, { token }))
  mountDashboard(root, { client, canWrite: false, title: 'Telemetry' })
}
