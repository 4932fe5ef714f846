// The studio's window: the telemetry panel over Tauri IPC. The capability grants
// `opentelemetry:allow-write`, so the panel offers "run now", silence and acknowledge.
// The main window can also pop the panel out into a window of its own; each window
// subscribes to its own series streams, and the plugin ends them when the window closes.
import { invoke } from '@tauri-apps/api/core'
import { WebviewWindow, getCurrentWebviewWindow } from '@tauri-apps/api/webviewWindow'
import { TelemetryClient, tauriTransport } from 'tauri-plugin-opentelemetry-api'
import { mountDashboard } from 'tauri-plugin-opentelemetry-api/dashboard'
import 'tauri-plugin-opentelemetry-api/dashboard/style.css'

/** The label of the pop-out window (the capability grants `panel-*` the panel's permissions). */
const POP_OUT = 'panel-popout'

const root = document.getElementById('panel')
if (root !== null) {
  mountDashboard(root, {
    client: new TelemetryClient(tauriTransport()),
    canWrite: true,
    title: 'Timeline Studio'
  })
}

// The studio's own commands. The plugin's init script traces each invoke (a client span,
// its traceparent sent with the call) and the commands' backend work joins that trace:
// no telemetry code here or in the commands beyond their attribute.
const status = document.querySelector<HTMLOutputElement>('[data-testid="project-status"]')
const PROJECT = 'trailer.studio'
async function project(action: 'open' | 'export'): Promise<void> {
  if (status === null) return
  status.dataset.state = 'busy'
  try {
    if (action === 'open') {
      const clips = await invoke<number>('open_project', { path: PROJECT })
      status.textContent = `${PROJECT}: ${clips} clips`
    } else {
      const bytes = await invoke<number>('export_project', { path: PROJECT, segments: 4 })
      status.textContent = `exported ${(bytes / 1_048_576).toFixed(0)} MiB`
    }
    status.dataset.state = action === 'open' ? 'opened' : 'exported'
  } catch (error) {
    status.textContent = String(error)
    status.dataset.state = 'failed'
  }
}
document.querySelector('[data-testid="open-project"]')?.addEventListener('click', () => void project('open'))
document.querySelector('[data-testid="export-project"]')?.addEventListener('click', () => void project('export'))

// An uncaught error, on purpose: the plugin's init script sends it, with its stack, as
// an ERROR log record (the panel's Logs view shows it) and counts webview_errors_total.
document.querySelector('[data-testid="throw-error"]')?.addEventListener('click', () => {
  setTimeout(() => {
    const project: { clips?: string[] } = {}
    if (project.clips === undefined) {
      throw new TypeError("project.clips is undefined (the studio's test button)")
    }
  })
})

const button = document.querySelector<HTMLButtonElement>('[data-testid="pop-out"]')
if (button !== null) {
  if (getCurrentWebviewWindow().label === 'main') {
    button.hidden = false
    button.addEventListener('click', () => {
      void togglePopOut(button)
    })
  }
}

/** Opens the panel in its own window, or closes that window when it is open. */
async function togglePopOut(button: HTMLButtonElement): Promise<void> {
  // A click while the window is being created would try to create it a second time.
  if (button.dataset.state === 'opening') return
  const open = await WebviewWindow.getByLabel(POP_OUT)
  if (open !== null) {
    await open.destroy()
    showClosed(button)
    return
  }
  const popOut = new WebviewWindow(POP_OUT, {
    url: 'index.html',
    title: 'Timeline Studio — telemetry (pop-out)',
    width: 1100,
    height: 760
  })
  button.dataset.state = 'opening'
  await popOut.once('tauri://created', () => {
    button.dataset.state = 'open'
    button.textContent = 'Close the pop-out panel'
  })
  await popOut.once('tauri://error', () => {
    button.dataset.state = 'failed'
  })
  // Closed from its own title bar.
  await popOut.once('tauri://destroyed', () => showClosed(button))
}

function showClosed(button: HTMLButtonElement): void {
  button.dataset.state = 'closed'
  button.textContent = 'Open the panel in a new window'
}
