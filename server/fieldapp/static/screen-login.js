// The sign-in screen: a device token for this phone, the outbox kept whoever signs in.

import { call, callJson, Offline } from './api.js'
import { h, show } from './dom.js'
import { t } from './i18n.js'
import * as store from './store.js'
import * as sync from './sync.js'

export async function loginPage () {
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

// What the phone pulled about people and places; the outbox, the drafts and their files are never in it.
const PULLED = ['households', 'villages', 'areas', 'assignments', 'reviews', 'parameters']

/** Signs this phone out, for a phone that changes hands: the token is revoked, what was pulled and what was
 * acknowledged leaves the phone, and what was not yet sent stays for the next sign-in to send. */
export async function signOut () {
  const waiting = await store.count('outbox')
  const question = waiting
    ? t(`还有 ${waiting} 条走访未发送：它们留在手机上，下次登录后发送。确定退出？`,
      `${waiting} visits are not sent yet: they stay on the phone and go after the next sign-in. Sign out?`)
    : t('退出登录？手机上的农户资料会删除，下次登录时重新同步。', 'Sign out? The households on this phone are deleted and synced again at the next sign-in.')
  if (!confirm(question)) return
  const tokenId = await store.meta('token_id')
  // Revoked when there is a network; without one the token stays valid until it expires, and is gone from the phone.
  await call('DELETE', `/auth/device-tokens/${tokenId}`).catch(() => null)
  await store.transaction([...PULLED, 'meta', 'sent', 'files'], async (s) => {
    for (const name of PULLED) s[name].clear()
    for (const key of ['token', 'token_id', 'cursor', 'user', 'scope']) s.meta.delete(key)
    // A sent visit whose photos are not all uploaded stays, so the next sign-in uploads them; the rest go.
    const files = await store.request(s.files.getAll())
    const unsent = new Set(files.filter((f) => !f.uploaded && f.error?.status !== 409).map((f) => f.uuid))
    for (const entry of await store.request(s.sent.getAll())) {
      if (unsent.has(entry.item.uuid)) continue
      s.sent.delete(entry.item.uuid)
      for (const file of files.filter((f) => f.uuid === entry.item.uuid)) s.files.delete(`${file.uuid}/${file.name}`)
    }
  })
  location.hash = '#/login'
}
