// The app's language: Chinese unless the enumerator switched to English; each phrase is written in both where used.

import { chinaClock } from './clock.js'

let language = 'zh'

export function setLanguage (chosen) {
  language = chosen === 'en' ? 'en' : 'zh'
  document.documentElement.lang = language === 'en' ? 'en' : 'zh-CN'
}

export function current () {
  return language
}

/** The phrase in the current language. */
export function t (zh, en) {
  return language === 'en' ? en : zh
}

/** A bilingual name ({zh, en}) in the current language, else the other one. */
export function label (names) {
  if (!names || typeof names !== 'object') return names == null ? '' : String(names)
  return (language === 'en' ? names.en || names.zh : names.zh || names.en) || ''
}

/** A time as people in the villages read it: China's clock, to the minute. */
export function when (iso) {
  if (!iso) return ''
  return chinaClock(new Date(iso)).slice(0, 16).replace('T', ' ')
}
