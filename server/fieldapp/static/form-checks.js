// The checks of one answer, ported from survey_forms/checks.py: types, ranges, lengths, patterns, choices, dates.

export const GEOPOINT_KEYS = ['lat', 'lon', 'accuracy_m', 'altitude_m', 'captured_at']
// Python's str.isspace(): what the server takes for blank text (JavaScript's \s also has U+FEFF, lacks U+001C-1F and U+0085).
export const BLANK = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/
// datetime.fromisoformat's forms, as far as forms use them: any separator, seconds and fractions optional, an offset.
const DATETIME = /^(\d{4})-(\d{2})-(\d{2}).(\d{2}):?(\d{2})(?::?(\d{2})(?:[.,]\d+)?)?(?:Z|[+-](\d{2}):?(\d{2})(?::?\d{2}(?:[.,]\d+)?)?)$/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** The check of one field's values: a function giving null when a value passes, else [code, details] as checks.py. */
export function valueCheck (spec, choices) {
  switch (spec.type) {
    case 'text': return textCheck(spec)
    case 'integer': return numberCheck(spec, (v) => Number.isInteger(v), 'integer')
    case 'decimal': return numberCheck(spec, (v) => Number.isFinite(v), 'number')
    case 'select_one': return (v) => typeof v !== 'string' ? ['type', { expected: 'choice name' }]
      : choices.has(v) ? null : ['unknown_choice', { value: v }]
    case 'select_multiple': return (v) => multipleCheck(v, choices)
    case 'date': return (v) => isDate(v) ? null : ['type', { expected: 'date YYYY-MM-DD' }]
    case 'datetime': return (v) => isDateTime(v) ? null : ['type', { expected: 'ISO 8601 date and time with offset' }]
    case 'geopoint': return (v) => geopointCheck(v, spec.max_accuracy_m)
    case 'photo':
    case 'audio': return fileNameCheck
    default: return null
  }
}

function textCheck (spec) {
  const limit = spec.max_length
  const pattern = 'pattern' in spec ? fullMatcher(spec.pattern) : null
  return (value) => {
    if (typeof value !== 'string') return ['type', { expected: 'text' }]
    if (value.includes('\0') || LONE_SURROGATE.test(value)) {
      return ['type', { expected: 'text without NUL or lone surrogates' }]
    }
    // Python counts code points; a rare character of a name (𠮷) is two UTF-16 units.
    if (limit !== undefined && limit !== null && [...value].length > limit) return ['out_of_range', { max_length: limit }]
    if (pattern && !pattern.test(value)) return ['constraint', { pattern: spec.pattern }]
    return null
  }
}

/** Python's re.fullmatch of a form's pattern: its \d and \w take any Unicode digit or letter, JavaScript's only ASCII. */
function fullMatcher (pattern) {
  let out = ''
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\' && i + 1 < pattern.length) {
      const next = pattern[++i]
      const wide = { d: '\\p{Nd}', D: '\\P{Nd}', w: inClass ? '\\p{L}\\p{N}_' : '[\\p{L}\\p{N}_]',
        W: inClass ? null : '[^\\p{L}\\p{N}_]' }[next]
      out += wide ?? c + next
      continue
    }
    if (c === '[' && !inClass) inClass = true
    else if (c === ']' && inClass) inClass = false
    out += c
  }
  for (const [source, flags] of [[out, 'u'], [pattern, '']]) {
    try {
      return new RegExp(`^(?:${source})$`, flags)
    } catch {
      // A pattern Python takes and JavaScript does not: tried without Unicode mode, else left to the server.
    }
  }
  return null
}

function numberCheck (spec, kind, expected) {
  const low = spec.min ?? null
  const high = spec.max ?? null
  return (value) => {
    if (typeof value !== 'number' || !kind(value)) return ['type', { expected }]
    if ((low !== null && value < low) || (high !== null && value > high)) return ['out_of_range', { min: low, max: high }]
    return null
  }
}

function multipleCheck (value, choices) {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    return ['type', { expected: 'list of choice names' }]
  }
  const unknown = value.find((item) => !choices.has(item))
  if (unknown !== undefined) return ['unknown_choice', { value: unknown }]
  return new Set(value).size !== value.length ? ['constraint', { duplicate: true }] : null
}

function isDate (value) {
  const parts = typeof value === 'string' && /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  return Boolean(parts) && validDay(+parts[1], +parts[2], +parts[3])
}

function validDay (year, month, day) {
  const date = new Date(Date.UTC(2000, month - 1, day))
  date.setUTCFullYear(year)
  return year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** checks._datetime: Python's datetime.fromisoformat of a text starting with a date, with an offset. */
function isDateTime (value) {
  const parts = typeof value === 'string' && DATETIME.exec(value)
  if (!parts || value.length < 16) return false
  const [hour, minute, second] = [+parts[4], +parts[5], +(parts[6] ?? 0)]
  return validDay(+parts[1], +parts[2], +parts[3]) && hour < 24 && minute < 60 && second < 60 &&
    (parts[7] === undefined || (+parts[7] < 24 && +parts[8] < 60))
}

/** A number the server's checks take as one: neither NaN nor infinite. */
export function finite (value) {
  return typeof value === 'number' && Number.isFinite(value)
}

function geopointCheck (value, maxAccuracy) {
  if (!isRecord(value) || Object.keys(value).some((k) => !GEOPOINT_KEYS.includes(k))) {
    return ['type', { expected: 'geopoint {lat, lon, accuracy_m, altitude_m}' }]
  }
  const { lat, lon, accuracy_m: accuracy } = value
  if (!finite(lat) || !finite(lon) || ['accuracy_m', 'altitude_m'].some((k) => k in value && !finite(value[k]))) {
    return ['type', { expected: 'finite numbers' }]
  }
  if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return ['out_of_range', { lat, lon }]
  if ('captured_at' in value && !isDateTime(value.captured_at)) {
    return ['type', { expected: 'captured_at as an ISO 8601 date and time' }]
  }
  if (accuracy !== undefined && accuracy < 0) return ['out_of_range', { accuracy_m: accuracy }]
  if (maxAccuracy !== undefined && maxAccuracy !== null && (accuracy === undefined || accuracy > maxAccuracy)) {
    return ['out_of_range', { max_accuracy_m: maxAccuracy }]
  }
  return null
}

function fileNameCheck (value) {
  const bad = typeof value !== 'string' || value.replace(/^\.+|\.+$/g, '') === '' || [...value].length > 255 ||
    /[/\\\0]/.test(value)
  return bad ? ['type', { expected: 'attachment file name' }] : null
}

export function repeatShape (spec) {
  const low = spec.min_count ?? null
  const high = spec.max_count ?? null
  return (value) => {
    if (!Array.isArray(value) || value.some((row) => !isRecord(row))) return ['type', { expected: 'list of objects' }]
    const outside = (low !== null && value.length < low) || (high !== null && value.length > high)
    return outside ? ['out_of_range', { min: low, max: high }] : null
  }
}

/** A JSON object: not null, not a list. */
export function isRecord (value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The same value, as checks.same_value (numbers within 1e-6 relative). */
export function sameValue (sent, computed) {
  if (finite(sent) && finite(computed)) return Math.abs(sent - computed) <= 1e-6 * Math.max(1, Math.abs(computed))
  return deepEqual(sent, computed)
}

/** Structural equality of JSON-like values; the $root and $params that rows carry in the context are left out. */
export function deepEqual (a, b) {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keys = Object.keys(a).filter((k) => k[0] !== '$')
  return keys.length === Object.keys(b).filter((k) => k[0] !== '$').length &&
    keys.every((k) => k in b && deepEqual(a[k], b[k]))
}
