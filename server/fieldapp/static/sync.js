// Sync by protocol.md: pull what the team may see, push the outbox in batches, then upload the files; retry with backoff.

import { call, callJson, Offline, SignInNeeded, ApiError } from './api.js'
import { chinaTime } from './clock.js'
import * as store from './store.js'

const PULL_PAGE = 500
const PUSH_BATCH = 20 // small batches: on a weak signal a cut costs little, and results come back sooner
const RETRY_FIRST_S = 5
const RETRY_MAX_S = 300
const PERIOD_S = 120 // while online and idle, look for news this often

const listeners = new Set()
const status = { state: 'idle', message: '', last_sync: null, next_try: null, failures: 0 }
let running = null
let again = false
let timer = null

/** Calls `listener(status)` whenever sync's state changes (the status bar and the outbox page listen). */
export function onStatus (listener) {
  listeners.add(listener)
  listener({ ...status })
  return () => listeners.delete(listener)
}

function announce (changes) {
  Object.assign(status, changes)
  for (const listener of listeners) listener({ ...status })
}

/** One full sync. Asked while one runs, another follows it: what changed meanwhile is not left for the next
 * period. Never throws: the outcome is in the status. */
export function syncNow () {
  if (running) {
    again = true
    return running
  }
  running = run().finally(() => {
    running = null
    if (again) {
      again = false
      syncNow()
    }
  })
  return running
}

/** Starts syncing by itself: now, when the signal comes back, and every few minutes. */
export function start () {
  window.addEventListener('online', () => { status.failures = 0; syncNow() })
  window.addEventListener('offline', () => announce({ state: 'offline', message: '' }))
  syncNow()
}

async function run () {
  clearTimeout(timer)
  if (!await store.meta('token')) {
    announce({ state: 'signin', message: '' })
    return
  }
  announce({ state: 'syncing', message: '' })
  try {
    await push()
    await uploadFiles()
    await refreshForms()
    await pull()
    await refreshParameters()
    await tidy()
    status.failures = 0
    announce({ state: 'idle', last_sync: new Date().toISOString(), next_try: null, message: '' })
    timer = setTimeout(syncNow, PERIOD_S * 1000)
  } catch (error) {
    if (error instanceof SignInNeeded) {
      announce({ state: 'signin', message: error.code })
      return
    }
    status.failures += 1
    const wait = Math.min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (status.failures - 1)) * (0.8 + Math.random() * 0.4)
    const state = error instanceof Offline ? 'offline' : 'error'
    announce({ state, message: error.message, next_try: new Date(Date.now() + wait * 1000).toISOString() })
    timer = setTimeout(syncNow, wait * 1000)
  }
}

// Pull -----------------------------------------------------------------------------------------------------------

const KEPT = { area: 'areas', household: 'households', village: 'villages', assignment: 'assignments', review: 'reviews' }

/** Follows the cursor to the end; each page and the cursor after it are stored in one transaction. */
export async function pull () {
  let cursor = await store.meta('cursor')
  for (;;) {
    const query = new URLSearchParams({ limit: PULL_PAGE, ...(cursor ? { cursor } : {}) })
    const page = await callJson('GET', `/sync/changes?${query}`)
    let newForm = false
    await store.transaction([...Object.values(KEPT), 'meta'], async (s) => {
      for (const change of page.changes) newForm = apply(s, change) || newForm
      if (page.cursor) s.meta.put(page.cursor, 'cursor')
    })
    if (newForm) await refreshForms()
    if (!page.has_more || !page.changes.length) return
    cursor = page.cursor
  }
}

function apply (s, { kind, id, version, data }) {
  if (kind === 'form') return true
  const name = KEPT[kind]
  if (!name) return false // a kind this app does not know yet: the protocol only ever adds
  const key = kind === 'area' ? (data?.code ?? id) : kind === 'village' ? (data?.area_code ?? id) : String(id)
  if (data === null || (kind === 'assignment' && data.state !== 'open')) s[name].delete(key)
  else s[name].put(kind === 'household' || kind === 'village' ? { ...data, version: version ?? data.version } : data, key)
  return false
}

// Forms and yearly parameters ----------------------------------------------------------------------------------

/** The published forms the user may use, and the definitions the phone lacks, each checked against its sha256. */
export async function refreshForms () {
  const etag = await store.meta('forms_etag')
  const response = await call('GET', '/forms', { headers: etag ? { 'If-None-Match': etag } : {} })
  if (response.status === 304) return
  const summaries = await response.json()
  for (const summary of summaries) {
    const key = `${summary.form_id}@${summary.version}`
    if (await store.get('forms', key)) continue
    const answer = await call('GET', `/forms/${encodeURIComponent(summary.form_id)}/versions/${summary.version}`)
    const bytes = await answer.arrayBuffer()
    if (await sha256(bytes) !== summary.sha256) throw new Error(`${key}: the definition differs from its sha256`)
    await store.put('forms', key, { summary, definition: JSON.parse(new TextDecoder().decode(bytes)) })
  }
  await store.transaction(['meta'], async (s) => {
    s.meta.put(summaries, 'form_summaries')
    s.meta.put(response.headers.get('ETag'), 'forms_etag')
  })
}

export async function refreshParameters () {
  const answer = await callJson('GET', '/parameters')
  await store.put('parameters', 'all', answer.parameters)
}

// Push -----------------------------------------------------------------------------------------------------------

/** Sends the outbox oldest first; each item leaves it only when the server answered for it. */
export async function push () {
  const waiting = (await store.all('outbox')).sort((a, b) => a.saved_at.localeCompare(b.saved_at))
  const deviceId = await store.meta('device_id')
  for (let start = 0; start < waiting.length; start += PUSH_BATCH) {
    await pushBatch(waiting.slice(start, start + PUSH_BATCH).map((entry) => entry.item), deviceId)
  }
}

async function pushBatch (items, deviceId) {
  let answer
  try {
    answer = await callJson('POST', '/sync/submissions', {
      json: { device_id: deviceId, sent_at: chinaTime(new Date()), submissions: items }
    })
  } catch (error) {
    if (error instanceof ApiError && error.status === 413 && items.length > 1) {
      const half = Math.ceil(items.length / 2)
      await pushBatch(items.slice(0, half), deviceId)
      return pushBatch(items.slice(half), deviceId)
    }
    throw error
  }
  const results = new Map(answer.results.map((result) => [result.uuid, result]))
  await store.transaction(['outbox', 'sent', 'files'], async (s) => {
    for (const item of items) {
      const result = results.get(item.uuid)
      if (!result) continue // not answered: it stays in the outbox for the next push
      s.outbox.delete(item.uuid)
      s.sent.put({ item, status: result.status, errors: result.errors || [], answered_at: new Date().toISOString() },
        item.uuid)
      if (result.status === 'accepted') await markStored(s.files, item, result.missing_attachments || [])
    }
  })
}

/** Files the server already holds for an accepted submission need no upload. */
async function markStored (files, item, missing) {
  for (const declared of item.attachments || []) {
    if (missing.includes(declared.name)) continue
    const key = `${item.uuid}/${declared.name}`
    const file = await store.request(files.get(key))
    if (file && !file.uploaded) files.put({ ...file, uploaded: true }, key)
  }
}

// Files ----------------------------------------------------------------------------------------------------------

/** Uploads every file of an acknowledged submission not yet stored; after a cut the next pass goes on from there. */
export async function uploadFiles () {
  const sent = new Map((await store.all('sent')).map((entry) => [entry.item.uuid, entry]))
  for (const file of await store.all('files')) {
    const entry = sent.get(file.uuid)
    if (file.uploaded || file.error?.status === 409 || !entry || !['accepted', 'duplicate'].includes(entry.status)) continue
    const key = `${file.uuid}/${file.name}`
    try {
      await call('PUT', `/submissions/${file.uuid}/attachments/${encodeURIComponent(file.name)}`, {
        body: file.blob, headers: { 'Content-Type': file.content_type, 'X-Content-SHA256': file.sha256 }
      })
      await store.put('files', key, { ...file, uploaded: true, error: null })
    } catch (error) {
      if (!(error instanceof ApiError)) throw error
      // Refused for good (say 409: stored already with other bytes): kept on the phone and shown, not retried blindly.
      await store.put('files', key, { ...file, error: { status: error.status, code: error.code, message: error.message } })
    }
  }
}

/** Photos of approved visits leave the phone (their record stays): they were uploaded, and nothing will correct them. */
async function tidy () {
  const approved = new Set((await store.all('reviews')).filter((r) => r.state === 'approved').map((r) => r.uuid))
  await store.transaction(['files'], async (s) => {
    for (const file of await store.request(s.files.getAll())) {
      if (file.uploaded && file.blob && approved.has(file.uuid)) s.files.put({ ...file, blob: null }, `${file.uuid}/${file.name}`)
    }
  })
}

// Shared helpers --------------------------------------------------------------------------------------------------

export async function sha256 (bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes)
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

