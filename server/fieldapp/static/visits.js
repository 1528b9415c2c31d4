// A visit's life on the phone: a draft saved as it is filled, then an outbox item the moment it is finished.

import * as store from './store.js'
import { chinaTime } from './clock.js'
import { sha256 } from './sync.js'

const FILE_TYPES = new Set(['photo', 'audio'])
// What the phone shows for a pulled member the server knows nothing more of (as tools/simulate/revisit.py).
const KNOWN_MEMBER = { 'person.member_status': 'present' }

/** The fields of each level (null: the top; else a repeat's name), groups opened up, as the validator sees them. */
export function levels (definition) {
  const found = new Map([[null, []]])
  const walk = (fields, level) => {
    for (const field of fields) {
      if (field.type === 'group') walk(field.fields || [], level)
      else if (field.type === 'repeat') {
        found.get(level).push(field)
        found.set(field.name, [])
        walk(field.fields || [], field.name)
      } else found.get(level).push(field)
    }
  }
  walk(definition.fields, null)
  return found
}

/** What a revisit starts from: the pulled values of the fields marked `prefill`, one repeat row per pulled member. */
export function prefilled (definition, subject) {
  const data = {}
  const known = subject.prefill || {}
  for (const [level, fields] of levels(definition)) {
    const targets = fields.filter((f) => f.prefill && f.save_to)
    if (level === null) {
      for (const field of targets) {
        const value = known[field.save_to.split('.')[1]]
        if (value !== null && value !== undefined) data[field.name] = value
      }
    } else if (targets.some((f) => f.save_to.startsWith('person.')) && subject.members?.length) {
      data[level] = [...subject.members].sort((a, b) => String(a.person_key).localeCompare(String(b.person_key)))
        .map((member) => memberRow(targets, member))
    }
  }
  return data
}

function memberRow (targets, member) {
  const row = {}
  for (const field of targets) {
    const value = member[field.save_to.split('.')[1]] ?? KNOWN_MEMBER[field.save_to]
    if (value !== null && value !== undefined) row[field.name] = value
  }
  return row
}

/** Values the phone fills in itself: who is visiting and which village the subject is in. */
export function ownValues (definition, subject, user) {
  const values = {}
  for (const field of levels(definition).get(null)) {
    if (field.name === 'enumerator_id') values[field.name] = user.username
    else if (field.name === 'work_team_id' && user.work_team) values[field.name] = user.work_team
    else if (field.save_to === 'household.natural_village_code' || field.save_to === 'village.code') {
      values[field.name] = subject.area_code
    } else if (field.save_to === 'village.name_zh' && subject.name_zh) values[field.name] = subject.name_zh
  }
  return values
}

/** A new draft; its id is the uuid the submission will carry, so its files are stored under it from the start. */
export async function startDraft ({ formKey, subject, baseVersion = null, supersedes = null, data = {}, title = '' }) {
  const draft = {
    id: crypto.randomUUID(), form_key: formKey, subject, base_version: baseVersion, supersedes, data, title,
    started_at: chinaTime(new Date())
  }
  await store.put('drafts', draft.id, draft)
  return draft
}

/** A correction keeps the photos of the visit it corrects: they are declared again, so the phone sends them again. */
export async function copyFiles (fromUuid, draft) {
  await store.transaction(['files'], async (s) => {
    for (const file of await store.request(s.files.getAll())) {
      if (file.uuid === fromUuid && file.blob) {
        s.files.put({ ...file, uuid: draft.id, uploaded: false, error: null }, `${draft.id}/${file.name}`)
      }
    }
  })
}

export async function saveDraft (draft, data) {
  draft.data = data
  draft.edited = true
  await store.put('drafts', draft.id, draft)
}

/** A draft given up: it and its files leave the phone (nothing of it was sent). */
export async function discardDraft (draft) {
  await store.transaction(['drafts', 'files'], async (s) => {
    s.drafts.delete(draft.id)
    for (const key of await store.request(s.files.getAllKeys())) {
      if (key.startsWith(`${draft.id}/`)) s.files.delete(key)
    }
  })
}

/** Stores a photo or recording under the draft; returns the name the form's value holds. */
export async function keepFile (draft, path, blob) {
  const extension = blob.type === 'image/jpeg' ? 'jpg' : (blob.type.split('/')[1] || 'bin').replace(/[^a-z0-9]/g, '')
  const name = `${path.replace(/\W+/g, '_').replace(/_$/, '')}.${extension}`
  const bytes = await blob.arrayBuffer()
  const file = { uuid: draft.id, name, blob, sha256: await sha256(bytes), size: bytes.byteLength,
    content_type: blob.type || 'application/octet-stream', uploaded: false }
  await store.put('files', `${draft.id}/${name}`, file)
  return name
}

/** The file names the data's photo and audio fields hold, at the top and in every repeat row, once each. */
export function fileNames (definition, data) {
  const names = []
  for (const [level, fields] of levels(definition)) {
    const rows = level === null ? [data] : (Array.isArray(data[level]) ? data[level] : [])
    for (const field of fields.filter((f) => FILE_TYPES.has(f.type))) {
      for (const row of rows) {
        const value = row?.[field.name]
        if (typeof value === 'string' && value && !names.includes(value)) names.push(value)
      }
    }
  }
  return names
}

/** Finishes a draft: the push item goes into the outbox and the draft goes, in one transaction. */
export async function finishDraft (draft, definition, data) {
  const files = await Promise.all(fileNames(definition, data).map((name) => store.get('files', `${draft.id}/${name}`)))
  const missing = fileNames(definition, data).filter((name, i) => !files[i])
  if (missing.length) throw new Error(`missing files: ${missing.join(', ')}`)
  const point = levels(definition).get(null).find((f) => f.type === 'geopoint' && data[f.name])
  const fix = point ? data[point.name] : null
  const item = {
    uuid: draft.id,
    form_id: definition.form_id,
    form_version: definition.version,
    subject: draft.subject,
    base_version: draft.base_version,
    started_at: draft.started_at,
    collected_at: chinaTime(new Date()),
    gps: fix ? { captured_at: draft.fix_at || chinaTime(new Date()), ...fix } : null,
    data,
    supersedes: draft.supersedes,
    attachments: files.map((f) => ({ name: f.name, sha256: f.sha256, size: f.size, content_type: f.content_type }))
  }
  await store.transaction(['outbox', 'drafts', 'files'], async (s) => {
    s.outbox.put({ item, saved_at: new Date().toISOString() }, item.uuid)
    s.drafts.delete(draft.id)
    // Files the visit no longer names (a photo taken again) are not declared: they need not stay.
    for (const key of await store.request(s.files.getAllKeys())) {
      if (key.startsWith(`${draft.id}/`) && !item.attachments.some((a) => key === `${draft.id}/${a.name}`)) s.files.delete(key)
    }
  })
  return item
}
