// The studio's window: the telemetry panel over Tauri IPC. The capability grants
// `opentelemetry:allow-write`, so the panel offers "run now", silence and acknowledge.
import { TelemetryClient, tauriTransport } from 'tauri-plugin-opentelemetry-api'
import { mountDashboard } from 'tauri-plugin-opentelemetry-api/dashboard'

const root = document.getElementById('panel')
if (root !== null) {
  mountDashboard(root, {
    client: new TelemetryClient(tauriTransport()),
    canWrite: true,
    title: 'Timeline Studio'
  })
}
