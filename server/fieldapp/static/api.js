// Requests to the server's API (shared/protocol.md) with the device token, and the three ways they fail.

import { meta } from './store.js'

export const API = '/api/v1'

/** No answer at all: no signal, or the server is down. The request may be sent again as it is. */
export class Offline extends Error {}

/** The token expired or was revoked: sign in again (the outbox is kept). */
export class SignInNeeded extends Error {
  constructor (code) { super(code); this.code = code }
}

/** The server answered with an error in the API error shape. */
export class ApiError extends Error {
  constructor (status, body) {
    const error = (body && body.error) || {}
    super(error.message || `HTTP ${status}`)
    this.status = status
    this.code = error.code || String(status)
    this.details = error.details
  }
}

/** One request. `json` is sent as JSON; `body` as it is. Resolves to the Response of a 2xx or 304. */
export async function call (method, path, { json, body, headers = {}, token } = {}) {
  const bearer = token ?? await meta('token')
  const sent = { ...headers }
  if (bearer) sent.Authorization = `Bearer ${bearer}`
  if (json !== undefined) {
    sent['Content-Type'] = 'application/json'
    body = JSON.stringify(json)
  }
  let response
  try {
    response = await fetch(API + path, { method, headers: sent, body, cache: 'no-store' })
  } catch (error) {
    throw new Offline(error.message)
  }
  if (response.ok || response.status === 304) return response
  const answer = await response.json().catch(() => null)
  // Whatever ended the token (expired, revoked, unknown, user disabled), a new sign-in is the way on or says why not.
  if (response.status === 401 && bearer) throw new SignInNeeded(answer?.error?.code || 'token_invalid')
  if (response.status >= 502 && response.status <= 504 && !answer) throw new Offline(`HTTP ${response.status}`)
  throw new ApiError(response.status, answer)
}

export async function callJson (method, path, options) {
  const response = await call(method, path, options)
  return response.status === 204 ? null : response.json()
}
