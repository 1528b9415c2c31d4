// What a form's data is, without the page: the definition compiled, relevance, calculations, checks and messages.

// The server's validator (survey_forms/validator.py, checks.py, messages.py) is the reference for every rule here:
// what counts as an answer, what rules see, relevance, calculations, checks, codes, paths and messages.
import { compileRule, truthy } from './rules.js'

const CHINA_OFFSET_MS = 8 * 3600 * 1000 // devices in Yunnan keep China Standard Time (+08:00, no summer time)
const GEOPOINT_KEYS = ['lat', 'lon', 'accuracy_m', 'altitude_m', 'captured_at']
// Python's str.isspace(): what the server takes for blank text (JavaScript's \s also has U+FEFF, lacks U+001C-1F and U+0085).
const BLANK = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/
// datetime.fromisoformat's forms, as far as forms use them: any separator, seconds and fractions optional, an offset.
const DATETIME = /^(\d{4})-(\d{2})-(\d{2}).(\d{2}):?(\d{2})(?::?(\d{2})(?:[.,]\d+)?)?(?:Z|[+-](\d{2}):?(\d{2})(?::?\d{2}(?:[.,]\d+)?)?)$/
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

// survey_forms/messages.py, split by language.
const MESSAGES = {
  required: ['此项为必填项', 'This field is required.'],
  not_relevant: ['此项在当前情况下不应填写', 'This field does not apply here and must be left empty.'],
  type: ['格式不正确（应为{expected}）', 'Wrong type of value: expected {expected}.'],
  out_of_range: ['数值超出允许范围', 'The value is outside the allowed range{range}.'],
  constraint: ['不满足填写规则', 'The value breaks the rule of this field.'],
  unknown_choice: ['不是可选的选项：{value}', 'Not one of the choices: {value}.'],
  unknown_field: ['表单中没有此项', 'This form has no such field.'],
  calculation_mismatch: ['计算值不一致（应为{expected}）', 'The calculated value does not match: expected {expected}.']
}

// Rules -------------------------------------------------------------------------------------------------------------

/** A rule as the validator runs it (validator._safe): an evaluation error counts as no value. */
function safeRule (rule) {
  const run = compileRule(rule)
  return (data) => {
    try {
      return run(data) ?? null
    } catch {
      return null
    }
  }
}

/** A calculation as the server types it: no value on an error, a boolean where value_type says so. */
function calculationOf (spec) {
  const run = safeRule(spec.calculation)
  return (data) => {
    let value = run(data)
    // Python raises (ZeroDivisionError) where JavaScript gives Infinity or NaN: the server's value is then None.
    if (typeof value === 'number' && !Number.isFinite(value)) value = null
    if (spec.value_type === 'boolean' && value !== null && typeof value !== 'boolean') value = truthy(value)
    return value
  }
}

/** Whether all of a field's or group's conditions (its groups' relevance, then its own) hold in this context. */
export function holds (conditions, ctx) {
  return conditions.every((condition) => truthy(condition(ctx)))
}

/** Whether the field must be answered in this context: its required is true, or a rule that holds. */
export function requiredIn (field, ctx) {
  return field.required === true || (typeof field.required === 'function' && truthy(field.required(ctx)))
}

/** checks.answered: null, blank text and an empty selection are no answer. */
export function answered (value) {
  if (value === null || value === undefined) return false
  if (typeof value === 'string') return value !== '' && !BLANK.test(value)
  return !(Array.isArray(value) && value.length === 0)
}

/** An answer the phone can send: a number it could not read (NaN) stays on the phone and check() reports it. */
function sendable (value) {
  return answered(value) && !(typeof value === 'number' && Number.isNaN(value))
}

// The definition, compiled once ---------------------------------------------------------------------------------

/** The definition compiled once: its top level, its repeats' levels and how many calculations they hold. */
export function compileForm (definition) {
  const lists = definition.choice_lists || {}
  const top = compileLevel(definition.fields, null, lists)
  const repeats = top.fields.filter((f) => f.repeat).map((f) => f.repeat)
  const count = [top, ...repeats].reduce((n, level) => n + level.calculated.length, 0)
  return { top, repeats, calculations: count }
}

function compileLevel (specs, name, lists) {
  const level = { name, fields: [], calculated: [], items: [] }
  level.items = compileItems(specs, level, [], lists)
  level.calculated = level.fields.filter((f) => f.calculate)
  return level
}

/** The display tree of a level; its value-holding fields go into level.fields in form order, as levels.py has them. */
function compileItems (specs, level, conditions, lists) {
  return specs.map((spec) => {
    if (spec.type === 'group') {
      // levels.py: a group's relevant of null is no condition (a field's is a rule, as the validator compiles it).
      const none = spec.relevant === undefined || spec.relevant === null
      const own = none ? conditions : [...conditions, safeRule(spec.relevant)]
      return { spec, conditions: own, items: compileItems(spec.fields || [], level, own, lists) }
    }
    const field = compileField(spec, conditions, lists, level)
    if (spec.type !== 'note') level.fields.push(field)
    return { spec, field, conditions: field.conditions }
  })
}

function compileField (spec, groupConditions, lists, level) {
  if (spec.type === 'repeat' && level.name !== null) throw new Error(`${spec.name}: a repeat in a repeat is not supported`)
  const choices = 'choices' in spec ? spec.choices : (lists[spec.choice_list]?.choices || [])
  const required = spec.required ?? false
  return {
    spec,
    name: spec.name,
    type: spec.type,
    conditions: 'relevant' in spec ? [...groupConditions, safeRule(spec.relevant)] : groupConditions,
    choices,
    required: typeof required === 'boolean' ? required : safeRule(required),
    check: spec.type === 'repeat' ? repeatShape(spec) : valueCheck(spec, new Set(choices.map((c) => c.name))),
    constraint: 'constraint' in spec ? safeRule(spec.constraint) : null,
    calculate: spec.type === 'calculate' ? calculationOf(spec) : null,
    repeat: spec.type === 'repeat' ? compileLevel(spec.fields || [], spec.name, lists) : null
  }
}

// Value checks: survey_forms/checks.py ------------------------------------------------------------------------------

function valueCheck (spec, choices) {
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

function repeatShape (spec) {
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
function sameValue (sent, computed) {
  if (finite(sent) && finite(computed)) return Math.abs(sent - computed) <= 1e-6 * Math.max(1, Math.abs(computed))
  return deepEqual(sent, computed)
}

/** Structural equality of JSON-like values; the $root and $params that rows carry in the context are left out. */
function deepEqual (a, b) {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keys = Object.keys(a).filter((k) => k[0] !== '$')
  return keys.length === Object.keys(b).filter((k) => k[0] !== '$').length &&
    keys.every((k) => k in b && deepEqual(a[k], b[k]))
}

// What the data is: the answers, the calculations and relevance, settled together -----------------------------------

/** The data to send and the context rules see, from what is entered (hidden answers too, kept for their return). */
export function evaluate (form, values, params) {
  // The server evaluates rules over the data as sent, and the data leaves out what is not relevant:
  // so relevance and calculations are worked out again over what would be sent until the two agree.
  let sent = collect(form.top, values, null)
  let ctx = compute(form, sent, params)
  for (let round = 0; round < 50; round++) {
    const next = collect(form.top, values, ctx)
    if (deepEqual(next, sent)) break
    sent = next
    ctx = compute(form, sent, params)
  }
  return { sent, ctx }
}

/** The answered values of a level's relevant fields (all fields while the context is not known yet). */
function collect (level, values, ctx) {
  const out = {}
  for (const field of level.fields) {
    if (ctx && !holds(field.conditions, ctx)) continue
    let value = values[field.name]
    if (field.calculate) value = ctx ? ctx[field.name] : undefined
    else if (field.repeat) {
      const contexts = ctx?.[field.name]
      value = values[field.name].map((row, i) => collect(field.repeat, row, contexts?.[i] ?? null))
    }
    if (sendable(value)) out[field.name] = value
  }
  return out
}

/** validator.computed: the data plus $params, rows plus $root and $params, every calculation done. */
function compute (form, sent, params) {
  const top = { ...sent, $params: params }
  for (const repeat of form.repeats) {
    const rows = sent[repeat.name]
    if (Array.isArray(rows)) top[repeat.name] = rows.map((row) => ({ ...row, $root: top, $params: params }))
  }
  // Repeated to a fixpoint, which is what the server's dependency order gives (the loader refuses cycles).
  for (let pass = 0; pass <= form.calculations; pass++) {
    let changed = false
    for (const repeat of form.repeats) {
      for (const row of top[repeat.name] || []) changed = settle(repeat.calculated, row) || changed
    }
    if (!settle(form.top.calculated, top) && !changed) break
  }
  return top
}

function settle (fields, scope) {
  let changed = false
  for (const field of fields) {
    const value = field.calculate(scope)
    if (!deepEqual(value, scope[field.name] ?? null)) changed = true
    scope[field.name] = value
  }
  return changed
}

// check(): validator._check_level over the data this form gives ------------------------------------------------

/** validator._check_level: a level's errors, each {field: path, code, message}, pushed onto errors. */
export function checkLevel (level, ctx, sent, entered, prefix, errors) {
  for (const field of level.fields) {
    const path = prefix + field.name
    const value = sent[field.name]
    const relevant = holds(field.conditions, ctx)
    if (!answered(value)) {
      if (relevant && Number.isNaN(entered[field.name])) {
        errors.push(problem(path, 'type', { expected: field.type === 'integer' ? 'integer' : 'number' }))
      } else if (relevant && !field.calculate && requiredIn(field, ctx)) errors.push(problem(path, 'required'))
      continue
    }
    if (!relevant) {
      errors.push(problem(path, 'not_relevant'))
      continue
    }
    if (field.calculate) {
      const expected = ctx[field.name]
      if (expected !== null && expected !== undefined && !sameValue(value, expected)) {
        errors.push(problem(path, 'calculation_mismatch', { expected }))
      }
      continue
    }
    let found = field.check ? field.check(value) : null
    if (!found && field.constraint) {
      // A repeat's constraint sees its rows with the calculations done.
      const subject = field.repeat ? ctx[field.name] : value
      found = truthy(field.constraint({ ...ctx, $value: subject })) ? null : ['constraint', {}]
    }
    if (found) errors.push(problem(path, found[0], found[1], field.spec.constraint_message))
    if (field.repeat && (!found || found[0] === 'constraint')) {
      const rows = entered[field.name]
      ctx[field.name].forEach((row, i) => checkLevel(field.repeat, row, value[i], rows[i], `${path}[${i}].`, errors))
    }
  }
}

function problem (field, code, details = {}, custom = null) {
  return { field, code, message: messageOf(code, details, custom) }
}

/** messages.message, in both languages; the field's own constraint_message for a constraint. */
function messageOf (code, details, custom) {
  if (custom && code === 'constraint') return { zh: custom.zh ?? custom.en, en: custom.en ?? custom.zh }
  const values = { expected: pythonText(details.expected ?? ''), value: pythonText(details.value ?? ''),
    range: rangeText(details) }
  const [zh, en] = (MESSAGES[code] || [code, code]).map((text) => text.replace(/\{(\w+)\}/g, (_, key) => values[key]))
  return { zh, en }
}

function rangeText (details) {
  const parts = ['min', 'max', 'max_length', 'max_accuracy_m'].filter((k) => details[k] !== undefined && details[k] !== null)
    .map((k) => `${k} ${pythonText(details[k])}`)
  return parts.length ? ` (${parts.join(', ')})` : ''
}

function pythonText (value) {
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (value === null) return 'None'
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

/** An error's message in both languages: ours are {zh, en}, the server's one text "中文 · English". */
export function messageText (error) {
  const message = error.message
  if (isRecord(message)) return { zh: message.zh ?? message.en, en: message.en ?? message.zh }
  if (typeof message === 'string' && message) {
    const cut = message.indexOf(' · ')
    return cut < 0 ? { zh: message, en: message } : { zh: message.slice(0, cut), en: message.slice(cut + 3) }
  }
  return messageOf(error.code, {}, null)
}

// Starting values -------------------------------------------------------------------------------------------------

/** What is entered to begin with: the initial data's answers (calculations are the form's own), else defaults. */
export function startingValues (level, given, defaults) {
  const values = {}
  for (const field of level.fields) {
    const name = field.name
    if (field.calculate) continue
    if (field.repeat) {
      const rows = Array.isArray(given?.[name]) ? given[name].filter(isRecord) : []
      values[name] = rows.map((row) => startingValues(field.repeat, row, defaults))
      const least = given && name in given ? 0 : field.spec.min_count || 0
      while (values[name].length < least) values[name].push(startingValues(field.repeat, null, true))
    } else if (given && name in given) {
      values[name] = structuredClone(given[name])
    } else if (defaults && 'default' in field.spec) {
      values[name] = structuredClone(field.spec.default)
    }
  }
  return values
}

/** The values of the form's parameters, the given ones (the yearly lines) over the form's own. */
export function parametersOf (definition, overrides) {
  const own = Object.fromEntries(Object.entries(definition.parameters || {}).map(([name, spec]) => [name, spec.value]))
  return { ...own, ...overrides }
}

/** A copy of a value fit to send: what rules add to rows ($root, $params) is left out. */
export function plain (value) {
  if (Array.isArray(value)) return value.map(plain)
  if (!isRecord(value)) return value
  return Object.fromEntries(Object.entries(value).filter(([key]) => key[0] !== '$').map(([key, v]) => [key, plain(v)]))
}

// Values from the phone --------------------------------------------------------------------------------------------

/** The phone's fix as the server takes a geopoint: its keys only, no empty ones, the time with its offset. */
export function geopointOf (fix) {
  const point = {}
  for (const key of GEOPOINT_KEYS) {
    let value = fix?.[key]
    if (key === 'captured_at' && (value instanceof Date || typeof value === 'number')) value = chinaTime(new Date(value))
    if (value !== null && value !== undefined) point[key] = value
  }
  return point
}

/** A point's time as the server wants it: ISO 8601 with the +08:00 offset. */
function chinaTime (moment) {
  return new Date(moment.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 19) + '+08:00'
}

/** A datetime-local entry read as China time. */
export function fromLocal (text) {
  if (!text) return null
  return `${text.slice(0, 19)}${text.length === 16 ? ':00' : ''}+08:00`
}

/** A datetime as a datetime-local entry shows it: in China time, whatever the offset it was sent with. */
export function toLocal (value) {
  const time = typeof value === 'string' ? Date.parse(value) : NaN
  return Number.isNaN(time) ? '' : new Date(time + CHINA_OFFSET_MS).toISOString().slice(0, 19)
}
