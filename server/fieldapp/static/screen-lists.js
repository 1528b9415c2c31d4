// The team's households and villages as the pull brought them, searchable, and where each visit begins.

import { areaName, h, nav, show, stateTag } from './dom.js'
import { t, label, when } from './i18n.js'
import * as store from './store.js'
import * as visits from './visits.js'

let searched = '' // the households' search, kept when a sync redraws the list

export async function householdsPage () {
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

/** The newest version of each published form about `subject` that the phone holds. */
export async function formsFor (subject) {
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

export async function householdPage (id) {
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

export async function villagesPage () {
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

export async function newHouseholdPage () {
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

async function begin (form, subject, baseVersion, data, title, extra = {}) {
  const user = await store.meta('user')
  const own = visits.ownValues(form.definition, { ...subject, ...extra }, user || {})
  const draft = await visits.startDraft({ formKey: `${form.summary.form_id}@${form.summary.version}`, subject,
    baseVersion, title, data: { ...data, ...own } })
  location.hash = `#/visit/${draft.id}`
}
