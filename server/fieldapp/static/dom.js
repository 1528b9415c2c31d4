// What every screen is built with: an element builder that never parses HTML, the one view, the tabs and tags.

import { t, label } from './i18n.js'

const view = document.getElementById('view')
let leaving = () => {}

// A tiny element builder: text is always set as text, never parsed as HTML.
export function h (tag, attributes = {}, ...children) {
  const element = document.createElement(tag)
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue
    if (key.startsWith('on')) element.addEventListener(key.slice(2), (event) => failSafe(value, event))
    else if (key === 'dataset') Object.assign(element.dataset, value)
    else element.setAttribute(key, value === true ? '' : value)
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child)
  }
  return element
}

/** Runs an event's handler; what it throws is shown to the enumerator, not lost in the console. */
export async function failSafe (handler, event) {
  try {
    await handler(event)
  } catch (error) {
    console.error(error)
    const banner = document.getElementById('update')
    banner.hidden = false
    banner.textContent = `${t('出错了', 'Something went wrong')}: ${error.message}`
  }
}

/** Puts a screen in the view, after what the last one asked to run when it goes (see onLeave). */
export function show (...children) {
  leaving()
  leaving = () => {}
  view.replaceChildren(...children.filter((child) => child !== null && child !== undefined && child !== false))
  window.scrollTo(0, 0)
}

/** What to run when the screen just shown is replaced (a form lets go of its photos' previews). */
export function onLeave (work) {
  leaving = work
}

export function nav (active) {
  const link = (name, href, text) => h('a', { href, class: name === active ? 'active' : null }, text)
  return h('nav', { class: 'tabs' },
    link('households', '#/', t('农户', 'Households')),
    link('villages', '#/villages', t('村庄', 'Villages')),
    link('outbox', '#/outbox', t('发送情况', 'Sync')))
}

/** An area's name as the pull gave it, else its code. */
export function areaName (areas, code) {
  const area = areas.get(code)
  return area ? label(area.name) : code
}

/** A visit's state in words: the supervisor's decision when there is one, else the server's answer. */
export function stateTag (entry, review) {
  if (review?.state === 'rejected') return h('span', { class: 'tag bad' }, t('被退回', 'Returned'))
  if (review?.state === 'approved') return h('span', { class: 'tag good' }, t('已审核通过', 'Approved'))
  if (review?.state === 'has_issues') return h('span', { class: 'tag wait' }, t('下次走访留意', 'Look again next visit'))
  const words = {
    waiting: t('等待发送', 'Waiting'), accepted: t('已送达', 'Received'), duplicate: t('已送达', 'Received'),
    invalid: t('需要更正', 'Needs correcting'), conflict: t('冲突', 'Conflict')
  }
  const tone = { waiting: 'wait', invalid: 'bad', conflict: 'bad' }[entry.status] || 'good'
  return h('span', { class: `tag ${tone}`, dataset: { status: entry.status } }, words[entry.status] || entry.status)
}
