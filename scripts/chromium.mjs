// Debian's Chromium, headless, as the end-to-end tests and the dashboard benchmark drive
// it through playwright-core (no browser download: the system binary, quiet networking).
import { chromium } from 'playwright-core'

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

/** Launches /usr/bin/chromium with the common arguments plus `extraArgs`. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...ARGS, ...extraArgs] })
}
