// A visit being filled: the form on screen, its draft saved on every answer, its photos and GPS fix.

import { chinaTime } from './clock.js'
import { h, onLeave, show } from './dom.js'
import { renderForm } from './form.js'
import { t, label, current } from './i18n.js'
import { shrink } from './photos.js'
import { inside } from './places.js'
import * as store from './store.js'
import * as sync from './sync.js'
import * as visits from './visits.js'
import { parametersFor } from './yearly.js'

export async function visitPage (draftId) {
  const draft = await store.get('drafts', draftId)
  if (!draft) {
    location.hash = '#/outbox'
    return
  }
  const form = await store.get('forms', draft.form_key)
  const definition = form.definition
  const previews = new Map()
  const files = (await store.all('files')).filter((f) => f.uuid === draft.id && f.blob)
  for (const file of files) previews.set(file.name, URL.createObjectURL(file.blob))
  const holder = h('div', { class: 'form-holder' })
  const area = await store.get('areas', draft.subject.area_code)
  // A fix outside the village is not refused (a household may live at its edge), but the enumerator is told.
  const whereabouts = h('p', { class: 'notice', id: 'outside-area', role: 'status', hidden: true },
    t(`定位点不在${label(area?.name)}范围内：请确认是在这户门口定位的。`,
      `The fix is outside ${label(area?.name)}: make sure it was taken at this household's door.`))
  const problems = h('p', { class: 'error', role: 'alert', hidden: true })
  const controller = renderForm(holder, definition, {
    language: current(),
    params: await parametersFor(definition, draft),
    initial: draft.data,
    defaults: !draft.edited, // a resumed draft keeps a default the enumerator cleared
    onChange: (data) => visits.saveDraft(draft, data),
    media: {
      attach: async (path, file) => {
        const name = await visits.keepFile(draft, path, await shrink(file))
        const kept = await store.get('files', `${draft.id}/${name}`)
        if (previews.has(name)) URL.revokeObjectURL(previews.get(name))
        previews.set(name, URL.createObjectURL(kept.blob))
        return name
      },
      urlOf: (name) => previews.get(name) || null
    },
    locate: async (field) => {
      const fix = await locate(field, draft)
      whereabouts.hidden = inside(area?.boundary, fix.lat, fix.lon) !== false
      return fix
    }
  })
  const finish = async () => {
    const errors = controller.check()
    if (errors.length) {
      problems.hidden = false
      problems.textContent = t(`还有 ${errors.length} 处需要填写或更正。`, `${errors.length} answers still need filling in or correcting.`)
      controller.showErrors(errors)
      return
    }
    try {
      await visits.finishDraft(draft, definition, controller.data())
    } catch (error) {
      problems.hidden = false
      problems.textContent = error.message
      return
    }
    location.hash = '#/outbox'
    sync.syncNow()
  }
  const discard = async () => {
    if (!confirm(t('放弃这次走访？已填写的内容会删除。', 'Give up this visit? What was filled in is deleted.'))) return
    await visits.discardDraft(draft)
    location.hash = '#/'
  }
  show(h('h1', {}, label(definition.title)),
    h('p', { class: 'subject' }, subjectLine(draft)),
    draft.supersedes ? h('p', { class: 'notice' }, t('这是对已退回走访的更正，发送后会替代原记录。', 'This corrects a returned visit; once sent it replaces it.')) : null,
    whereabouts, holder, problems,
    h('div', { class: 'actions sticky' },
      h('button', { type: 'button', id: 'finish', class: 'primary', onclick: finish }, t('完成并保存', 'Finish and save')),
      h('button', { type: 'button', id: 'discard', onclick: discard }, t('放弃', 'Discard'))))
  // The server's errors on a refused visit, marked on the fields being corrected (once the form is on the page).
  if (draft.server_errors?.length) controller.showErrors(draft.server_errors)
  onLeave(() => {
    controller.destroy()
    for (const url of previews.values()) URL.revokeObjectURL(url)
  })
}

function subjectLine (draft) {
  const s = draft.subject
  return `${s.type === 'household' ? t('农户', 'Household') : t('村', 'Village')} · ${draft.title || s.area_code}`
}

/** The phone's position now, as precise as it gets within half a minute. */
function locate (field, draft) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) return reject(new Error(t('这部手机不能定位', 'This phone cannot give a position')))
    navigator.geolocation.getCurrentPosition((position) => {
      const c = position.coords
      draft.fix_at = chinaTime(new Date(position.timestamp))
      resolve({ lat: round(c.latitude, 7), lon: round(c.longitude, 7), accuracy_m: round(c.accuracy, 1),
        altitude_m: c.altitude === null ? null : round(c.altitude, 1), captured_at: draft.fix_at })
    }, (error) => reject(new Error(error.code === 1
      ? t('没有定位权限：请在浏览器设置中允许定位', 'No permission to locate: allow it in the browser settings')
      : t('定位失败，请到开阔处再试', 'No position: try again in the open'))),
    { enableHighAccuracy: true, timeout: 30000, maximumAge: 0 })
  })
}

function round (value, digits) {
  return Math.round(value * 10 ** digits) / 10 ** digits
}
