// The field app's start: routes to its screens, the status bar, the language switch and the service worker.

import { ApiError } from './api.js'
import { h } from './dom.js'
import { t, setLanguage, current } from './i18n.js'
import { loginPage } from './screen-login.js'
import { householdPage, householdsPage, newHouseholdPage, villagesPage } from './screen-lists.js'
import { noteStatus, outboxPage, sentPage, statusLine } from './screen-outbox.js'
import { visitPage } from './screen-visit.js'
import * as store from './store.js'
import * as sync from './sync.js'

const view = document.getElementById('view')

// Routing: #/ (households), #/villages, #/household/<id>, #/visit/<draft>, #/outbox, #/sent/<uuid> -----------------

const routes = [
  [/^#\/household\/(.+)$/, householdPage],
  [/^#\/villages$/, villagesPage],
  [/^#\/visit\/(.+)$/, visitPage],
  [/^#\/outbox$/, outboxPage],
  [/^#\/sent\/(.+)$/, sentPage],
  [/^#\/new$/, newHouseholdPage],
  [/^#\/login$/, loginPage]
]

async function route () {
  if (!await store.meta('token') && location.hash !== '#/login') {
    location.hash = '#/login'
    return
  }
  for (const [pattern, page] of routes) {
    const match = location.hash.match(pattern)
    if (match) return page(decodeURIComponent(match[1] || ''))
  }
  return householdsPage()
}

// The status bar --------------------------------------------------------------------------------------------------

async function paintStatus (status) {
  noteStatus(status)
  const waiting = await store.count('outbox')
  const button = document.getElementById('sync-status')
  button.dataset.state = status.state
  button.textContent = `${{ idle: '✓', syncing: '⟳', offline: '✈', signin: '!', error: '!' }[status.state] || ''} ${waiting ? t(`${waiting} 条待发送`, `${waiting} waiting`) : t('无待发送', 'nothing waiting')}`
  const line = document.getElementById('sync-line')
  if (line) line.textContent = statusLine(status)
  if (status.state === 'signin' && location.hash !== '#/login') location.hash = '#/login'
  // What a sync brought shows at once on the lists; a form being filled is never redrawn under the thumb.
  if (status.state === 'idle' && ['', '#/', '#/villages', '#/outbox'].includes(location.hash)) route()
}

// Start -----------------------------------------------------------------------------------------------------------

async function main () {
  setLanguage(await store.meta('language', 'zh'))
  document.getElementById('home').textContent = t('入户调查', 'Field survey')
  const switcher = document.getElementById('language')
  switcher.textContent = current() === 'en' ? '中文' : 'English'
  switcher.addEventListener('click', async () => {
    await store.setMeta('language', current() === 'en' ? 'zh' : 'en')
    location.reload() // drafts are saved on every answer: nothing is lost
  })
  document.getElementById('sync-status').addEventListener('click', () => { location.hash = '#/outbox' })
  window.addEventListener('hashchange', route)
  sync.onStatus(paintStatus)
  await route()
  sync.start()
  registerWorker()
}

function registerWorker () {
  if (!('serviceWorker' in navigator)) return
  const hadOne = Boolean(navigator.serviceWorker.controller)
  navigator.serviceWorker.register(document.body.dataset.worker).catch((error) => console.warn(error))
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!hadOne) return
    const banner = document.getElementById('update')
    banner.hidden = false
    banner.replaceChildren(t('新版本已就绪。', 'A new version is ready. '),
      h('button', { type: 'button', onclick: () => location.reload() }, t('重新打开', 'Reload')))
  })
}

main().catch((error) => {
  view.replaceChildren(h('p', { class: 'error' }, `${t('应用无法启动', 'The app could not start')}: ${error.message}`))
  if (error instanceof ApiError) console.error(error.code)
})
