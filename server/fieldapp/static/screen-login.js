// The sign-in screen: a device token for this phone, the outbox kept whoever signs in.

import { callJson, Offline } from './api.js'
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
