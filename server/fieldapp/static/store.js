// The phone's own database (IndexedDB): what was pulled, the drafts, the outbox and the files, kept across reloads.

const NAME = 'village-survey'
// A new release may add stores, never drop or rename one: an update must find the outbox where it left it.
const VERSION = 1
const STORES = {
  meta: {}, // key → value: device_id, token, user, scope, cursor, language, forms_etag
  forms: {}, // "form_id@version" → {summary, definition}
  households: {}, // id → the pulled household, with its version
  villages: {}, // area code → the pulled village
  areas: {}, // code → the pulled area
  assignments: {}, // id → an open assignment
  reviews: {}, // submission uuid → the supervisor's decision
  parameters: {}, // year → the yearly lines of every area that has them
  drafts: {}, // id → a visit being filled: {id, form, subject, base_version, supersedes, data, started_at, gps}
  outbox: {}, // uuid → {item, saved_at, tries, next_try, last_error}: finished, not yet acknowledged
  sent: {}, // uuid → {item, status, errors, answered_at}: answered by the server (accepted, duplicate, invalid, conflict)
  files: {} // "uuid/name" → {uuid, name, blob, sha256, size, content_type, uploaded}
}

let opening = null

function open () {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, VERSION)
    request.onupgradeneeded = () => {
      const db = request.result
      for (const name of Object.keys(STORES)) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name)
      }
    }
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
    request.onblocked = () => reject(new Error('The app is open in another tab with an older version: close it.'))
  })
  return opening
}

function done (request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
}

/** Runs `work(stores)` in one transaction over the named stores; resolves once it is committed to disk. */
export async function transaction (names, work, mode = 'readwrite') {
  const db = await open()
  const tx = db.transaction(names, mode, { durability: 'strict' })
  const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]))
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = resolve
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error || new Error('transaction aborted'))
  })
  const result = await work(stores)
  await committed
  return result
}

export async function get (store, key) {
  return transaction([store], (s) => done(s[store].get(key)), 'readonly')
}

export async function put (store, key, value) {
  return transaction([store], (s) => done(s[store].put(value, key)))
}

export async function remove (store, key) {
  return transaction([store], (s) => done(s[store].delete(key)))
}

export async function all (store) {
  return transaction([store], (s) => done(s[store].getAll()), 'readonly')
}

export async function count (store) {
  return transaction([store], (s) => done(s[store].count()), 'readonly')
}

/** Requests and awaits within an open transaction (pass a store of `transaction`). */
export const request = done

export async function meta (key, fallback = null) {
  const value = await get('meta', key)
  return value === undefined ? fallback : value
}

export async function setMeta (key, value) {
  return put('meta', key, value)
}

/** Asks the browser not to evict the app's data when the phone runs short of space. */
export async function keepData () {
  if (navigator.storage && navigator.storage.persist) {
    try { return await navigator.storage.persist() } catch { return false }
  }
  return false
}
