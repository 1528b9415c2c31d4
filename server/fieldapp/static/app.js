// The field app's screens: sign-in, the team's households and villages, a visit's form, and the outbox.

import { callJson, ApiError, Offline } from './api.js'
import { renderForm } from './form.js'
import { t, label, when, setLanguage, current } from './i18n.js'
import { shrink } from './photos.js'
import * as store from './store.js'
import * as sync from './sync.js'
import * as visits from './visits.js'
import { inside } from './places.js'
import { parametersFor } from './yearly.js'

const view = document.getElementById('view')
let closeView = () => {}
let latestStatus = null
let searched = '' // the households' search, kept when a sync redraws the list

// A tiny element builder: text is always set as text, never parsed as HTML.
function h (tag, attributes = {}, ...children) {
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
async function failSafe (handler, event) {
  try {
    await handler(event)
  } catch (error) {
    console.error(error)
    const banner = document.getElementById('update')
    banner.hidden = false
    banner.textContent = `${t('出错了', 'Something went wrong')}: ${error.message}`
  }
}

function show (...children) {
  closeView()
  closeView = () => {}
  view.replaceChildren(...children.filter((child) => child !== null && child !== undefined && child !== false))
  window.scrollTo(0, 0)
}

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

// Sign-in -------------------------------------------------------------------------------------------------------

async function loginPage () {
  const waiting = await store.count('outbox')
  const previous = await store.meta('user')
  const message = h('p', { class: 'error', role: 'alert', hidden: true })
  const form = h('form', { class: 'login', onsubmit: (event) => { event.preventDefault(); signIn(form, message) } },
    h('h1', {}, t('登录', 'Sign in')),
    waiting ? h('p', { class: 'notice' }, t(`手机上有 ${waiting} 条走访等待发送，登录后会自动发送，不会丢失。`,
      `${waiting} visits wait on this phone to be sent; they are sent after you sign in, nothing is lost.`)) : null,
    h('label', {}, t('用户名', 'Username'),
      h('input', { name: 'username', autocomplete: 'username', required: true, value: previous?.username || '' })),
    h('label', {}, t('密码', 'Password'),
      h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    message,
    h('button', { type: 'submit', class: 'primary' }, t('登录', 'Sign in')))
  show(form)
}

async function signIn (form, message) {
  let deviceId = await store.meta('device_id')
  if (!deviceId) {
    deviceId = crypto.randomUUID()
    await store.setMeta('device_id', deviceId)
  }
  message.hidden = true
  try {
    const answer = await callJson('POST', '/auth/device-tokens', {
      token: '',
      json: { username: form.username.value.trim(), password: form.password.value, device_id: deviceId,
        device_label: navigator.userAgent.slice(0, 200) }
    })
    await store.transaction(['meta'], async (s) => {
      s.meta.put(answer.token, 'token')
      s.meta.put(answer.token_id, 'token_id')
      s.meta.put(answer.user, 'user')
      s.meta.put(answer.scope, 'scope')
    })
    await store.keepData()
    location.hash = '#/'
    await sync.syncNow()
  } catch (error) {
    message.hidden = false
    message.textContent = error instanceof Offline
      ? t('没有网络：登录需要网络。已保存的走访不受影响。', 'No network: signing in needs one. Saved visits are not affected.')
      : error.message
  }
}

// Households and villages ---------------------------------------------------------------------------------------

function areaName (areas, code) {
  const area = areas.get(code)
  return area ? label(area.name) : code
}

async function householdsPage () {
  const [households, areaList, assignments, drafts] = await Promise.all(
    [store.all('households'), store.all('areas'), store.all('assignments'), store.all('drafts')])
  const areas = new Map(areaList.map((a) => [a.code, a]))
  const due = new Map(assignments.filter((a) => a.household_id).map((a) => [a.household_id, a]))
  const search = h('input', { type: 'search', id: 'search', value: searched, placeholder: t('搜索户主、户编号或村名', 'Search head, household number or village') })
  const list = h('ul', { class: 'households' })
  const fill = () => {
    searched = search.value
    const words = search.value.trim().toLowerCase()
    const shown = households
      .filter((hh) => !words || [hh.householder_name, hh.household_no, areaName(areas, hh.area_code)]
        .some((v) => String(v || '').toLowerCase().includes(words)))
      .sort((a, b) => (due.has(b.id) - due.has(a.id)) || String(a.area_code).localeCompare(b.area_code) ||
        String(a.household_no).localeCompare(String(b.household_no)))
    list.replaceChildren(...shown.slice(0, 200).map((hh) => h('li', {},
      h('a', { href: `#/household/${hh.id}`, class: 'row', dataset: { household: hh.id } },
        h('strong', {}, hh.householder_name || t('（未记姓名）', '(no name)')),
        h('span', {}, `${areaName(areas, hh.area_code)} · ${hh.household_no || ''}`),
        due.has(hh.id) ? h('span', { class: 'due' }, `${t('待走访', 'To visit')} ${due.get(hh.id).due_date || ''}`) : null,
        hh.monitoring_category ? h('span', { class: 'tag' }, hh.monitoring_category) : null))))
    if (!shown.length) list.append(h('li', { class: 'empty' }, households.length ? t('没有符合的农户', 'No household matches') : t('还没有农户：联网后同步', 'No households yet: sync when online')))
  }
  search.addEventListener('input', fill)
  fill()
  show(
    nav('households'),
    drafts.length ? h('section', { class: 'drafts' }, h('h2', {}, t('未完成的走访', 'Unfinished visits')),
      h('ul', {}, drafts.map((d) => h('li', {}, h('a', { href: `#/visit/${d.id}`, class: 'row' },
        d.title || d.subject.area_code, h('span', {}, when(d.started_at))))))) : null,
    h('div', { class: 'actions' }, search, h('a', { href: '#/new', class: 'button' }, t('新增农户', 'New household'))),
    list)
}

function nav (active) {
  const link = (name, href, text) => h('a', { href, class: name === active ? 'active' : null }, text)
  return h('nav', { class: 'tabs' },
    link('households', '#/', t('农户', 'Households')),
    link('villages', '#/villages', t('村庄', 'Villages')),
    link('outbox', '#/outbox', t('发送情况', 'Sync')))
}

/** The newest version of each published form about `subject` that the phone holds. */
async function formsFor (subject) {
  const newest = new Map()
  for (const summary of (await store.meta('form_summaries')) || []) {
    if (summary.subject === subject && !(newest.get(summary.form_id)?.version > summary.version)) newest.set(summary.form_id, summary)
  }
  const forms = await Promise.all([...newest.values()].map((s) => store.get('forms', `${s.form_id}@${s.version}`)))
  return forms.filter(Boolean)
}

/** A choice's label from the form's shared lists (the monitoring category on a household, say), else its code. */
function choiceLabel (forms, list, code) {
  for (const form of forms) {
    const choice = form.definition.choice_lists?.[list]?.choices?.find((c) => c.name === code)
    if (choice) return label(choice.label)
  }
  return code ?? '—'
}

async function householdPage (id) {
  const household = await store.get('households', id)
  if (!household) return show(nav(), h('p', {}, t('手机上没有这户的资料。', 'This household is not on the phone.')))
  const areas = new Map((await store.all('areas')).map((a) => [a.code, a]))
  const forms = await formsFor('household')
  const subject = { type: 'household', id: household.id, area_code: household.area_code }
  show(nav(),
    h('h1', {}, household.householder_name || ''),
    h('dl', { class: 'facts' },
      h('dt', {}, t('村', 'Village')), h('dd', {}, areaName(areas, household.area_code)),
      h('dt', {}, t('户编号', 'Household number')), h('dd', {}, household.household_no || ''),
      h('dt', {}, t('家庭成员', 'Members')), h('dd', {}, String((household.members || []).length)),
      h('dt', {}, t('监测类别', 'Monitoring category')), h('dd', {}, choiceLabel(forms, 'monitoring_category', household.monitoring_category))),
    await historyOf(household.id),
    h('div', { class: 'actions' }, forms.map((form) => h('button', {
      type: 'button', class: 'primary', dataset: { form: form.summary.form_id },
      onclick: () => begin(form, subject, household.version, visits.prefilled(form.definition, household),
        `${household.householder_name || household.household_no} · ${areaName(areas, household.area_code)}`)
    }, `${t('开始走访', 'Start visit')}: ${label(form.definition.title)}`))))
}

async function historyOf (subjectId) {
  const [sent, waiting, reviews] = await Promise.all([store.all('sent'), store.all('outbox'), store.all('reviews')])
  const mine = [...waiting.map((w) => ({ item: w.item, status: 'waiting' })), ...sent]
    .filter((e) => e.item.subject.id === subjectId)
    .sort((a, b) => b.item.collected_at.localeCompare(a.item.collected_at))
  if (!mine.length) return null
  const review = new Map(reviews.map((r) => [r.uuid, r]))
  return h('section', {}, h('h2', {}, t('本机的走访', 'Visits from this phone')),
    h('ul', {}, mine.map((e) => h('li', {}, h('a', { href: `#/sent/${e.item.uuid}`, class: 'row' },
      when(e.item.collected_at), stateTag(e, review.get(e.item.uuid)))))))
}

async function villagesPage () {
  const [areaList, villages, assignments] = await Promise.all([store.all('areas'), store.all('villages'), store.all('assignments')])
  const known = new Map(villages.map((v) => [v.area_code, v]))
  const due = new Map(assignments.filter((a) => !a.household_id).map((a) => [a.area_code, a]))
  const forms = await formsFor('village')
  const rows = areaList.filter((a) => !a.retired && forms.some((f) => (f.definition.subject_level || 'natural_village') === a.level))
    .sort((a, b) => a.code.localeCompare(b.code))
  show(nav('villages'), h('ul', { class: 'villages' }, rows.map((area) => h('li', { class: 'row' },
    h('strong', {}, label(area.name)), h('span', {}, area.code),
    due.has(area.code) ? h('span', { class: 'due' }, `${t('待调查', 'To survey')} ${due.get(area.code).due_date || ''}`) : null,
    forms.filter((f) => (f.definition.subject_level || 'natural_village') === area.level).map((form) =>
      h('button', {
        type: 'button', dataset: { form: form.summary.form_id, area: area.code },
        onclick: () => {
          const village = known.get(area.code) || {}
          const subject = { type: 'village', id: null, area_code: area.code }
          return begin(form, subject, village.version ?? null,
            visits.prefilled(form.definition, village), label(area.name), { name_zh: area.name?.zh })
        }
      }, label(form.definition.title)))))))
}

async function newHouseholdPage () {
  const areas = (await store.all('areas')).filter((a) => a.level === 'natural_village' && !a.retired)
    .sort((a, b) => a.code.localeCompare(b.code))
  const forms = await formsFor('household')
  const choice = h('select', { name: 'area_code', required: true },
    areas.map((a) => h('option', { value: a.code }, `${label(a.name)} (${a.code})`)))
  show(nav(), h('h1', {}, t('新增农户', 'New household')),
    h('p', {}, t('新发现的农户：先选自然村，再开始第一次走访。', 'A household found on the ground: choose its natural village, then make its first visit.')),
    h('label', {}, t('自然村', 'Natural village'), choice),
    h('div', { class: 'actions' }, forms.map((form) => h('button', {
      type: 'button', class: 'primary', dataset: { form: form.summary.form_id },
      onclick: () => begin(form, { type: 'household', id: crypto.randomUUID(), area_code: choice.value }, null, {},
        `${t('新农户', 'New household')} · ${choice.selectedOptions[0]?.textContent || choice.value}`)
    }, label(form.definition.title)))))
}

// A visit -------------------------------------------------------------------------------------------------------

async function begin (form, subject, baseVersion, data, title, extra = {}) {
  const user = await store.meta('user')
  const own = visits.ownValues(form.definition, { ...subject, ...extra }, user || {})
  const draft = await visits.startDraft({ formKey: `${form.summary.form_id}@${form.summary.version}`, subject,
    baseVersion, title, data: { ...data, ...own } })
  location.hash = `#/visit/${draft.id}`
}

async function visitPage (draftId) {
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
  closeView = () => {
    controller.destroy()
    for (const url of previews.values()) URL.revokeObjectURL(url)
  }
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
      draft.fix_at = sync.chinaTime(new Date(position.timestamp))
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

// The outbox and what the server answered -----------------------------------------------------------------------

function stateTag (entry, review) {
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

/** What needs the enumerator: invalid and conflicting answers, and returned visits not yet corrected. */
function needsAttention (sent, reviews, corrected) {
  return sent.filter((e) => !corrected.has(e.item.uuid) &&
    (['invalid', 'conflict'].includes(e.status) || reviews.get(e.item.uuid)?.state === 'rejected'))
}

async function outboxPage () {
  const [waiting, sent, reviewList, files, drafts] = await Promise.all(
    [store.all('outbox'), store.all('sent'), store.all('reviews'), store.all('files'), store.all('drafts')])
  const reviews = new Map(reviewList.map((r) => [r.uuid, r]))
  const corrected = new Set([...waiting.map((w) => w.item), ...sent.map((e) => e.item), ...drafts]
    .map((i) => i.supersedes).filter(Boolean))
  const attention = needsAttention(sent, reviews, corrected)
  const filesWaiting = files.filter((f) => !f.uploaded && sent.some((e) => e.item.uuid === f.uuid && ['accepted', 'duplicate'].includes(e.status)))
  const names = await namesOf()
  const row = (entry) => h('li', {}, h('a', { href: `#/sent/${entry.item.uuid}`, class: 'row', dataset: { uuid: entry.item.uuid } },
    h('strong', {}, names.subject(entry.item.subject)), h('span', {}, `${names.form(entry.item)} · ${when(entry.item.collected_at)}`),
    stateTag(entry, reviews.get(entry.item.uuid))))
  const sentRecently = sent.filter((e) => !attention.includes(e))
    .sort((a, b) => b.answered_at.localeCompare(a.answered_at)).slice(0, 50)
  show(nav('outbox'),
    h('section', { class: 'summary' },
      h('div', { class: 'card', id: 'count-waiting' }, h('b', {}, String(waiting.length)), t('条等待发送', 'waiting to be sent')),
      h('div', { class: 'card', id: 'count-files' }, h('b', {}, String(filesWaiting.length)), t('张照片等待上传', 'files to upload')),
      h('div', { class: 'card', id: 'count-attention' }, h('b', {}, String(attention.length)), t('条需要处理', 'need attention')),
      h('div', { class: 'card', id: 'count-sent' }, h('b', {}, String(sent.length - attention.length)), t('条已送达', 'received'))),
    h('p', { id: 'sync-line' }, statusLine(latestStatus)),
    h('button', { type: 'button', id: 'sync-now', class: 'primary', onclick: () => sync.syncNow() }, t('立即同步', 'Sync now')),
    attention.length ? h('section', { id: 'attention' }, h('h2', {}, t('需要处理', 'Needs attention')), h('ul', {}, attention.map(row))) : null,
    h('section', { id: 'waiting' }, h('h2', {}, t('等待发送', 'Waiting to be sent')),
      waiting.length ? h('ul', {}, waiting.map((w) => row({ item: w.item, status: 'waiting' })))
        : h('p', { class: 'empty' }, t('没有等待发送的走访', 'Nothing is waiting'))),
    h('section', { id: 'sent' }, h('h2', {}, t('已送达', 'Received by the server')), h('ul', {}, sentRecently.map(row))))
}

/** How the phone names a visit's subject and form to a person: the head's name and village, the form's title. */
async function namesOf () {
  const [households, areaList, forms] = await Promise.all([store.all('households'), store.all('areas'), store.all('forms')])
  const byId = new Map(households.map((hh) => [hh.id, hh]))
  const areas = new Map(areaList.map((a) => [a.code, a]))
  const titles = new Map(forms.map((f) => [`${f.summary.form_id}@${f.summary.version}`, f.definition.title]))
  return {
    subject: (subject) => [byId.get(subject.id)?.householder_name, areaName(areas, subject.area_code)].filter(Boolean).join(' · '),
    form: (item) => label(titles.get(`${item.form_id}@${item.form_version}`)) || item.form_id
  }
}

async function sentPage (uuid) {
  const entry = (await store.get('sent', uuid)) ||
    ((await store.get('outbox', uuid)) && { item: (await store.get('outbox', uuid)).item, status: 'waiting' })
  if (!entry) return show(nav('outbox'), h('p', {}, t('手机上没有这条走访。', 'This visit is not on the phone.')))
  const review = await store.get('reviews', uuid)
  const files = (await store.all('files')).filter((f) => f.uuid === uuid)
  const form = await store.get('forms', `${entry.item.form_id}@${entry.item.form_version}`)
  const canCorrect = entry.status === 'invalid' || review?.state === 'rejected'
  const names = await namesOf()
  show(nav('outbox'),
    h('h1', {}, names.form(entry.item)),
    h('p', {}, stateTag(entry, review)),
    h('dl', { class: 'facts' },
      h('dt', {}, t('走访对象', 'Subject')), h('dd', {}, names.subject(entry.item.subject)),
      h('dt', {}, t('完成时间', 'Finished')), h('dd', {}, when(entry.item.collected_at)),
      h('dt', {}, t('编号', 'Id')), h('dd', { class: 'code' }, uuid),
      h('dt', {}, t('照片', 'Files')), h('dd', {}, files.length
        ? files.map((f) => `${f.name} ${f.uploaded ? t('已上传', 'uploaded') : f.error ? f.error.message : t('待上传', 'to upload')}`).join('；')
        : '—')),
    review ? h('section', { class: `review ${review.state}`, id: 'review' },
      h('h2', {}, { rejected: t('审核退回', 'Returned by the supervisor'), approved: t('审核通过', 'Approved'),
        has_issues: t('通过，但下次走访要留意', 'Stands, but look again on the next visit') }[review.state] || review.state),
      h('blockquote', { id: 'review-comment' }, review.comment || t('（无意见）', '(no comment)')),
      h('p', {}, `${review.reviewer || ''} · ${when(review.decided_at)}`)) : null,
    entry.errors?.length ? h('section', { id: 'server-errors' }, h('h2', {}, t('服务器指出的问题', 'What the server found')),
      h('ul', {}, entry.errors.map((e) => h('li', {}, `${e.field || ''} ${label(e.message)}`)))) : null,
    canCorrect ? h('button', { type: 'button', id: 'correct', class: 'primary', onclick: () => correct(entry, form) },
      t('更正并重新提交', 'Correct and send again')) : null)
}

/** A correction: the visit's answers in a new draft that supersedes it, starting from the household as pulled now. */
async function correct (entry, form) {
  const subject = entry.item.subject
  const current = subject.type === 'household' ? await store.get('households', subject.id) : await store.get('villages', subject.area_code)
  const draft = await visits.startDraft({ formKey: `${form.summary.form_id}@${form.summary.version}`, subject,
    baseVersion: current?.version ?? entry.item.base_version, supersedes: entry.item.uuid, data: entry.item.data,
    title: current?.householder_name || subject.area_code })
  await visits.copyFiles(entry.item.uuid, draft)
  if (entry.errors?.length) await store.put('drafts', draft.id, { ...draft, server_errors: entry.errors })
  location.hash = `#/visit/${draft.id}`
}

// The status bar --------------------------------------------------------------------------------------------------

function statusLine (status) {
  if (!status) return ''
  const last = status.last_sync ? t(`上次同步 ${when(status.last_sync)}`, `last synced ${when(status.last_sync)}`) : t('尚未同步', 'not synced yet')
  const words = {
    idle: t('已同步', 'Synced'), syncing: t('正在同步…', 'Syncing…'),
    offline: t('离线：有网络时自动发送', 'Offline: sends by itself when there is a network'),
    signin: t('需要重新登录才能发送', 'Sign in again to send'), error: t('同步出错，稍后重试', 'Sync failed; retrying later')
  }
  const next = status.next_try ? t(`，${when(status.next_try)} 重试`, `, retry at ${when(status.next_try)}`) : ''
  return `${words[status.state] || status.state} · ${last}${next}`
}

async function paintStatus (status) {
  latestStatus = status
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
