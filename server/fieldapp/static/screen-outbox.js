// The sync screen: what waits, what went and what needs attention, each visit's answer, and corrections.

import { areaName, h, nav, show, stateTag } from './dom.js'
import { t, label, when } from './i18n.js'
import { signOut } from './screen-login.js'
import * as store from './store.js'
import * as sync from './sync.js'
import * as visits from './visits.js'

let latestStatus = null

/** What needs the enumerator: invalid and conflicting answers, and returned visits not yet corrected. */
function needsAttention (sent, reviews, corrected) {
  return sent.filter((e) => !corrected.has(e.item.uuid) &&
    (['invalid', 'conflict'].includes(e.status) || reviews.get(e.item.uuid)?.state === 'rejected'))
}

export async function outboxPage () {
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
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'sync-now', class: 'primary', onclick: () => sync.syncNow() }, t('立即同步', 'Sync now')),
      h('button', { type: 'button', id: 'sign-out', onclick: signOut }, t('退出登录', 'Sign out'))),
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

export async function sentPage (uuid) {
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

export function statusLine (status) {
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

/** The sync state the outbox screen shows (the status bar tells it each change). */
export function noteStatus (status) {
  latestStatus = status
}
