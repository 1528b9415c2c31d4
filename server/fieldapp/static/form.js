// Renders a survey form definition as touch-sized widgets and gives the submission data the server's validator accepts.

// The server's validator (survey_forms/validator.py, checks.py, messages.py) is the reference for every rule here:
// what counts as an answer, what rules see, relevance, calculations, checks, codes, paths and messages.
import { compileRule, truthy } from './rules.js'

const SELECT_ABOVE = 8 // more choices than this: a drop-down list instead of radio buttons
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

const WORDS = {
  add: ['＋ 添加', '+ Add'],
  remove: ['删除', 'Remove'],
  clear: ['清除', 'Clear'],
  choose: ['请选择…', 'Choose…'],
  locate: ['定位', 'Get location'],
  locating: ['正在定位…', 'Locating…'],
  saving: ['正在保存…', 'Saving…'],
  yes: ['是', 'Yes'],
  no: ['否', 'No'],
  none: ['—', '—']
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

function holds (conditions, ctx) {
  return conditions.every((condition) => truthy(condition(ctx)))
}

function requiredIn (field, ctx) {
  return field.required === true || (typeof field.required === 'function' && truthy(field.required(ctx)))
}

/** checks.answered: null, blank text and an empty selection are no answer. */
function answered (value) {
  if (value === null || value === undefined) return false
  if (typeof value === 'string') return value !== '' && !BLANK.test(value)
  return !(Array.isArray(value) && value.length === 0)
}

/** An answer the phone can send: a number it could not read (NaN) stays on the phone and check() reports it. */
function sendable (value) {
  return answered(value) && !(typeof value === 'number' && Number.isNaN(value))
}

// The definition, compiled once ---------------------------------------------------------------------------------

function compileForm (definition) {
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

function finite (value) {
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
    return null
  }
}

function isRecord (value) {
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

/**
 * The data to send and the context rules see, from what is entered (hidden answers included, kept in case their
 * field comes back). The server evaluates rules over the data as sent, and the data leaves out what is not relevant:
 * so relevance and calculations are worked out again over what would be sent until the two agree.
 */
function evaluate (form, values, params) {
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

function checkLevel (level, ctx, sent, entered, prefix, errors) {
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

// Starting values -------------------------------------------------------------------------------------------------

/** What is entered to begin with: the initial data's answers (calculations are the form's own), else defaults. */
function startingValues (level, given, defaults) {
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

function parametersOf (definition, overrides) {
  const own = Object.fromEntries(Object.entries(definition.parameters || {}).map(([name, spec]) => [name, spec.value]))
  return { ...own, ...overrides }
}

/** A copy of a value fit to send: what rules add to rows ($root, $params) is left out. */
function plain (value) {
  if (Array.isArray(value)) return value.map(plain)
  if (!isRecord(value)) return value
  return Object.fromEntries(Object.entries(value).filter(([key]) => key[0] !== '$').map(([key, v]) => [key, plain(v)]))
}

// Small DOM helpers -----------------------------------------------------------------------------------------------

function el (tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? '' : value)
  }
  node.append(...children.filter((child) => child !== null && child !== undefined))
  return node
}

/** A text in both languages: setLanguage shows the one chosen (the other when one is missing). */
function words (zh, en, className) {
  return setWords(el('span', className ? { class: className } : {}), zh, en)
}

function setWords (node, zh, en) {
  node.dataset.zh = zh ?? en ?? ''
  node.dataset.en = en ?? zh ?? ''
  node.textContent = node.dataset[node.closest('[data-language]')?.dataset.language === 'en' ? 'en' : 'zh']
  return node
}

function clearWords (node) {
  delete node.dataset.zh
  delete node.dataset.en
  node.textContent = ''
}

function bilingual (text, className) {
  return words(text?.zh, text?.en, className)
}

function said (key, className) {
  return words(...WORDS[key], className)
}

function showLanguage (root, language) {
  for (const node of root.querySelectorAll('[data-zh]')) node.textContent = node.dataset[language]
}

function labelOf (spec, tag, attributes = {}) {
  return el(tag, { class: 'field-label', ...attributes }, bilingual(spec.label, 'label-text'),
    el('span', { class: 'required-mark', 'aria-hidden': 'true' }, ' *'), spec.hint ? bilingual(spec.hint, 'hint') : null)
}

function button (key, attributes) {
  return el('button', { type: 'button', ...attributes }, said(key))
}

/** A point's time as the server wants it: ISO 8601 with the +08:00 offset. */
function chinaTime (moment) {
  return new Date(moment.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 19) + '+08:00'
}

// Widgets: each builds its part of a field's wrapper and returns how to show a value --------------------------------

const WIDGETS = {
  text: textWidget,
  integer: numberWidget,
  decimal: numberWidget,
  select_one: (view, w) => (w.field.choices.length > SELECT_ABOVE ? listWidget : radioWidget)(view, w),
  select_multiple: checkboxWidget,
  date: (view, w) => inputWidget(view, w, 'date', (input) => input.value || null, (v) => (typeof v === 'string' ? v : '')),
  datetime: (view, w) => inputWidget(view, w, 'datetime-local', (input) => fromLocal(input.value), toLocal),
  geopoint: geopointWidget,
  photo: fileWidget,
  audio: fileWidget,
  calculate: calculatedWidget
}

function textWidget (view, w) {
  const long = (w.field.spec.max_length ?? 0) > 100
  const input = el(long ? 'textarea' : 'input',
    { name: w.path, id: w.id, rows: long ? 3 : null, type: long ? null : 'text', autocomplete: 'off' })
  input.readOnly = Boolean(w.field.spec.read_only)
  input.addEventListener('input', () => view.edit(w, input.value))
  w.wrapper.append(labelOf(w.field.spec, 'label', { for: w.id }), input)
  return (value) => { input.value = value === null || value === undefined ? '' : String(value) }
}

function numberWidget (view, w) {
  const spec = w.field.spec
  const integer = w.field.type === 'integer'
  const input = el('input', { type: 'number', name: w.path, id: w.id, inputmode: integer ? 'numeric' : 'decimal',
    step: integer ? '1' : 'any', min: spec.min, max: spec.max })
  input.readOnly = Boolean(spec.read_only)
  input.addEventListener('input', () => {
    const number = Number(input.value)
    // A number the keyboard let through but that is none (badInput) is kept as NaN: not sent, reported by check().
    view.edit(w, input.value === '' ? (input.validity.badInput ? NaN : null) : Number.isFinite(number) ? number : NaN)
  })
  w.wrapper.append(labelOf(spec, 'label', { for: w.id }), input)
  return (value) => {
    if (typeof value === 'number' && Number.isNaN(value)) return // the text that is no number stays as typed
    input.value = typeof value === 'number' ? String(value) : ''
  }
}

function inputWidget (view, w, type, read, shown) {
  const input = el('input', { type, name: w.path, id: w.id, step: type === 'datetime-local' ? '1' : null })
  input.readOnly = Boolean(w.field.spec.read_only)
  input.addEventListener('input', () => view.edit(w, read(input)))
  w.wrapper.append(labelOf(w.field.spec, 'label', { for: w.id }), input)
  return (value) => { input.value = shown(value) }
}

/** A datetime-local entry read as China time. */
function fromLocal (text) {
  if (!text) return null
  return `${text.slice(0, 19)}${text.length === 16 ? ':00' : ''}+08:00`
}

function toLocal (value) {
  const time = typeof value === 'string' ? Date.parse(value) : NaN
  return Number.isNaN(time) ? '' : new Date(time + CHINA_OFFSET_MS).toISOString().slice(0, 19)
}

function choiceGroup (view, w, type) {
  w.wrapper.dataset.widget = type
  const disabled = Boolean(w.field.spec.read_only)
  const inputs = w.field.choices.map((choice) => el('input', { type, name: w.path, value: choice.name, disabled }))
  const list = el('div', { class: 'choices' }, ...w.field.choices.map((choice, i) =>
    el('label', { class: 'choice' }, inputs[i], bilingual(choice.label))))
  w.wrapper.append(el('fieldset', {}, labelOf(w.field.spec, 'legend'), list))
  return inputs
}

function radioWidget (view, w) {
  const inputs = choiceGroup(view, w, 'radio')
  for (const input of inputs) input.addEventListener('change', () => input.checked && view.edit(w, input.value, true))
  const clear = clearButton(view, w)
  return (value) => {
    for (const input of inputs) input.checked = input.value === value
    clear.hidden = !answered(value)
  }
}

function checkboxWidget (view, w) {
  const inputs = choiceGroup(view, w, 'checkbox')
  // In the choices' order, whatever order they were ticked in.
  const read = () => inputs.filter((input) => input.checked).map((input) => input.value)
  for (const input of inputs) input.addEventListener('change', () => view.edit(w, read()))
  return (value) => {
    for (const input of inputs) input.checked = Array.isArray(value) && value.includes(input.value)
  }
}

function listWidget (view, w) {
  w.wrapper.dataset.widget = 'select'
  const select = el('select', { name: w.path, id: w.id, disabled: Boolean(w.field.spec.read_only) },
    el('option', { value: '' }, said('choose')),
    ...w.field.choices.map((choice) => el('option', { value: choice.name }, bilingual(choice.label))))
  select.addEventListener('change', () => view.edit(w, select.value || null))
  w.wrapper.append(labelOf(w.field.spec, 'label', { for: w.id }), select)
  return (value) => { select.value = typeof value === 'string' ? value : '' }
}

function clearButton (view, w) {
  const clear = button('clear', { class: 'clear', 'data-clear': w.path, hidden: true })
  clear.disabled = Boolean(w.field.spec.read_only)
  clear.addEventListener('click', () => view.edit(w, null, true))
  w.wrapper.append(clear)
  return clear
}

function geopointWidget (view, w) {
  const shown = el('div', { class: 'geo-value' })
  const status = el('div', { class: 'geo-status', role: 'status' })
  const locate = button('locate', { class: 'locate', 'data-locate': w.path })
  locate.disabled = Boolean(w.field.spec.read_only)
  locate.addEventListener('click', () => view.locate(w, locate, status))
  w.wrapper.append(labelOf(w.field.spec, 'div'), shown, status, el('div', { class: 'buttons' }, locate))
  const clear = clearButton(view, w)
  return (value) => {
    clear.hidden = !answered(value)
    if (!isRecord(value) || !finite(value.lat) || !finite(value.lon)) {
      setWords(shown, '尚未定位', 'No location yet')
      return
    }
    const accuracy = finite(value.accuracy_m) ? value.accuracy_m : '?'
    setWords(shown, `纬度 ${value.lat.toFixed(6)}，经度 ${value.lon.toFixed(6)}，精度 ${accuracy} 米`,
      `lat ${value.lat.toFixed(6)}, lon ${value.lon.toFixed(6)}, accuracy ${accuracy} m`)
  }
}

/** The phone's fix as the server takes a geopoint: its keys only, no empty ones, the time with its offset. */
function geopointOf (fix) {
  const point = {}
  for (const key of GEOPOINT_KEYS) {
    let value = fix?.[key]
    if (key === 'captured_at' && (value instanceof Date || typeof value === 'number')) value = chinaTime(new Date(value))
    if (value !== null && value !== undefined) point[key] = value
  }
  return point
}

function fileWidget (view, w) {
  const photo = w.field.type === 'photo'
  const input = el('input',
    { type: 'file', name: w.path, id: w.id, accept: photo ? 'image/*' : 'audio/*', capture: photo ? 'environment' : null })
  input.disabled = Boolean(w.field.spec.read_only)
  const preview = el('div', { class: 'file-preview' })
  const status = el('div', { class: 'file-status', role: 'status' })
  input.addEventListener('change', () => view.attach(w, input, status))
  w.wrapper.append(labelOf(w.field.spec, 'label', { for: w.id }), input, status, preview)
  const clear = clearButton(view, w)
  return (value) => {
    clear.hidden = !answered(value)
    preview.replaceChildren()
    if (typeof value !== 'string' || !answered(value)) return
    const url = view.media?.urlOf?.(value) ?? null
    if (url && photo) preview.append(el('img', { src: url, alt: value, class: 'thumb' }))
    else if (url) preview.append(el('audio', { src: url, controls: true }))
    preview.append(el('span', { class: 'file-name' }, value))
  }
}

function calculatedWidget (view, w) {
  const output = el('output', { name: w.path, id: w.id })
  w.wrapper.append(labelOf(w.field.spec, 'label', { for: w.id }), output)
  return (value) => {
    if (value === true || value === false) setWords(output, ...WORDS[value ? 'yes' : 'no'])
    else if (value === null || value === undefined) setWords(output, ...WORDS.none)
    else setWords(output, ...Array(2).fill(displayed(value)))
  }
}

function displayed (value) {
  if (typeof value === 'number') return String(Math.round(value * 100) / 100)
  if (Array.isArray(value)) return value.map(displayed).join(', ')
  return typeof value === 'object' ? JSON.stringify(plain(value)) : String(value)
}

// The view --------------------------------------------------------------------------------------------------------

class FormView {
  constructor (container, definition, options) {
    this.form = compileForm(definition)
    this.params = parametersOf(definition, options.params)
    const initial = isRecord(options.initial) ? options.initial : null
    this.values = startingValues(this.form.top, initial, options.defaults !== false)
    this.options = options
    this.language = options.language === 'en' ? 'en' : 'zh'
    this.media = options.media
    this.entries = [] // every rendered field, note, group and row, with the scope its rules see
    this.byPath = new Map()
    this.serial = 0
    this.prefix = `form-${Math.random().toString(36).slice(2, 8)}`
    this.root = el('form', { class: 'survey-form', novalidate: true, 'data-form': definition.form_id })
    this.root.addEventListener('submit', (event) => event.preventDefault()) // Enter in a text box must not leave the page
    this.renderItems(this.form.top.items, this.root, this.values, '', null, 2)
    container.append(this.root)
    this.setLanguage(options.language || definition.default_language || 'zh')
    this.refresh()
  }

  renderItems (items, parent, holder, prefix, scope, depth) {
    for (const item of items) {
      if (item.field) parent.append(this.renderField(item.field, holder, prefix, scope))
      else parent.append(this.renderGroup(item, holder, prefix, scope, depth))
    }
  }

  renderGroup (item, holder, prefix, scope, depth) {
    const section = el('section', { class: 'group', 'data-group': prefix + item.spec.name },
      el(`h${Math.min(depth, 6)}`, {}, bilingual(item.spec.label)),
      item.spec.hint ? el('p', { class: 'hint' }, bilingual(item.spec.hint)) : null)
    this.entries.push({ node: section, conditions: item.conditions, scope })
    this.renderItems(item.items, section, holder, prefix, scope, depth + 1)
    return section
  }

  renderField (field, holder, prefix, scope) {
    const path = prefix + field.name
    const wrapper = el('div', { class: `field field-${field.type}`, 'data-path': path, 'data-type': field.type })
    if (field.spec.read_only) wrapper.classList.add('read-only')
    const w = { field, path, holder, scope, wrapper, id: `${this.prefix}-${this.serial++}` }
    if (field.type === 'note') wrapper.append(labelOf(field.spec, 'div'))
    else if (field.repeat) w.show = this.renderRepeat(w)
    else w.show = WIDGETS[field.type]?.(this, w) ?? textWidget(this, w)
    wrapper.append(el('div', { class: 'field-error', role: 'alert' }))
    this.entries.push({ node: wrapper, conditions: field.conditions, scope, w })
    this.byPath.set(path, wrapper)
    if (w.show && !field.repeat && !field.calculate) w.show(holder[field.name])
    return wrapper
  }

  renderRepeat (w) {
    const rowsNode = el('div', { class: 'repeat-rows' })
    const add = el('button', { type: 'button', class: 'add', 'data-add': w.field.name },
      said('add'), ' ', bilingual(w.field.spec.label))
    add.addEventListener('click', () => this.addRow(w))
    w.wrapper.append(labelOf(w.field.spec, 'div'), rowsNode, add)
    w.rowsNode = rowsNode
    w.add = add
    this.renderRows(w)
    return null
  }

  renderRows (w) {
    const name = w.field.name
    this.entries = this.entries.filter((entry) => entry.scope?.repeat !== name)
    for (const path of [...this.byPath.keys()]) if (path.startsWith(`${name}[`)) this.byPath.delete(path)
    const rows = w.holder[name]
    w.rowsNode.replaceChildren(...rows.map((row, index) => this.renderRow(w, row, index)))
    showLanguage(w.rowsNode, this.language)
  }

  renderRow (w, row, index) {
    const path = `${w.path}[${index}]`
    const remove = el('button', { type: 'button', class: 'remove', 'data-remove': String(index) }, said('remove'))
    remove.addEventListener('click', () => this.removeRow(w, index))
    const label = w.field.spec.label || {}
    const heading = words(`${label.zh ?? label.en} ${index + 1}`, `${label.en ?? label.zh} ${index + 1}`)
    const node = el('div', { class: 'repeat-row', 'data-path': path },
      el('div', { class: 'row-head' }, el('h3', {}, heading), remove),
      el('div', { class: 'field-error', role: 'alert' }))
    this.byPath.set(path, node)
    this.renderItems(w.field.repeat.items, node, row, `${path}.`, { repeat: w.field.name, index }, 4)
    return node
  }

  addRow (w) {
    w.holder[w.field.name].push(startingValues(w.field.repeat, null, true))
    this.renderRows(w)
    this.changed(w)
    w.rowsNode.lastElementChild?.scrollIntoView({ block: 'start' })
  }

  removeRow (w, index) {
    w.holder[w.field.name].splice(index, 1)
    this.renderRows(w)
    this.changed(w)
  }

  /** An answer entered: kept (even while hidden, in case its field comes back), then everything settled again. */
  edit (w, value, redraw = false) {
    if (this.destroyed) return
    w.holder[w.field.name] = value
    if (redraw) w.show(value) // not while typing: the text as typed ("5.") stays
    this.changed(w)
  }

  changed (w) {
    this.unmark(w.wrapper)
    this.refresh()
    this.options.onChange?.(this.data())
  }

  refresh () {
    this.result = evaluate(this.form, this.values, this.params)
    for (const entry of this.entries) {
      const ctx = this.contextOf(entry.scope)
      entry.node.hidden = !ctx || !holds(entry.conditions, ctx)
      const w = entry.w
      if (!w || !ctx) continue
      w.wrapper.classList.toggle('required', !w.field.calculate && requiredIn(w.field, ctx))
      if (w.field.calculate) w.show(ctx[w.field.name])
      if (w.field.repeat) this.refreshRepeat(w)
    }
  }

  refreshRepeat (w) {
    const count = w.holder[w.field.name].length
    const { min_count: low, max_count: high } = w.field.spec
    w.add.disabled = Boolean(w.field.spec.read_only) || (high !== undefined && high !== null && count >= high)
    // Rows below min_count stay removable when the repeat is not required: no rows at all is then an answer too.
    for (const remove of w.rowsNode.querySelectorAll(':scope > .repeat-row > .row-head > button[data-remove]')) {
      remove.disabled = Boolean(w.field.spec.read_only) || (requiredIn(w.field, this.result.ctx) && low && count <= low)
    }
  }

  contextOf (scope) {
    if (!scope) return this.result.ctx
    return this.result.ctx[scope.repeat]?.[scope.index] ?? null
  }

  async locate (w, locateButton, status) {
    const spec = w.field.spec
    locateButton.disabled = true
    status.classList.remove('geo-refused')
    setWords(status, ...WORDS.locating)
    try {
      const point = geopointOf(await this.options.locate(spec, w.path))
      const max = spec.max_accuracy_m
      if (max !== undefined && max !== null && !(finite(point.accuracy_m) && point.accuracy_m <= max)) {
        const got = finite(point.accuracy_m) ? point.accuracy_m : '?'
        status.classList.add('geo-refused')
        setWords(status, `定位精度 ${got} 米，超过允许的 ${max} 米，未采用。请到开阔处重新定位。`,
          `Accuracy ${got} m is worse than the ${max} m allowed: not used. Move into the open and try again.`)
        return
      }
      clearWords(status)
      this.edit(w, point, true)
    } catch (error) {
      status.classList.add('geo-refused')
      setWords(status, `无法定位：${error?.message ?? error}`, `No location: ${error?.message ?? error}`)
    } finally {
      locateButton.disabled = Boolean(spec.read_only)
    }
  }

  async attach (w, input, status) {
    const file = input.files?.[0]
    if (!file) return
    setWords(status, ...WORDS.saving)
    try {
      const name = await this.media.attach(w.path, file)
      clearWords(status)
      this.edit(w, name, true)
    } catch (error) {
      setWords(status, `保存失败：${error?.message ?? error}`, `Could not keep the file: ${error?.message ?? error}`)
    } finally {
      input.value = '' // choosing the same file again is a change too
    }
  }

  data () {
    return plain(this.result.sent)
  }

  check () {
    const errors = []
    checkLevel(this.form.top, this.result.ctx, this.result.sent, this.values, '', errors)
    return errors
  }

  showErrors (errors) {
    for (const node of this.root.querySelectorAll('.invalid')) this.unmark(node)
    const unplaced = []
    let first = null
    for (const error of errors) {
      const node = this.byPath.get(error.field)
      if (!node || !node.isConnected || node.closest('[hidden]')) {
        unplaced.push(error)
        continue
      }
      this.mark(node, error)
      first = first ?? node
    }
    first?.scrollIntoView({ block: 'center' })
    first?.querySelector('input:not([type=hidden]), select, textarea, button')?.focus({ preventScroll: true })
    return unplaced
  }

  mark (node, error) {
    node.classList.add('invalid')
    const text = messageText(error)
    node.querySelector(':scope > .field-error').append(el('div', {}, words(text.zh, text.en)))
  }

  unmark (node) {
    node.classList.remove('invalid')
    node.querySelector(':scope > .field-error')?.replaceChildren()
  }

  setLanguage (language) {
    this.language = language === 'en' ? 'en' : 'zh'
    this.root.dataset.language = this.language
    this.root.lang = this.language === 'en' ? 'en' : 'zh-CN'
    showLanguage(this.root, this.language)
  }

  destroy () {
    this.destroyed = true
    this.root.remove()
  }
}

/** An error's message in both languages: ours are {zh, en}, the server's one text "中文 · English". */
function messageText (error) {
  const message = error.message
  if (isRecord(message)) return { zh: message.zh ?? message.en, en: message.en ?? message.zh }
  if (typeof message === 'string' && message) {
    const cut = message.indexOf(' · ')
    return cut < 0 ? { zh: message, en: message } : { zh: message.slice(0, cut), en: message.slice(cut + 3) }
  }
  return messageOf(error.code, {}, null)
}

function linkStylesheet () {
  const href = new URL('./form.css', import.meta.url).href
  if ([...document.querySelectorAll('link[rel=stylesheet]')].some((link) => link.href === href)) return
  document.head.append(el('link', { rel: 'stylesheet', href }))
}

/**
 * Renders `definition` into `container`.
 * options: language ('zh' | 'en'); params (values over the form's parameters: the yearly lines); initial (data to
 * start from); defaults (false: leave the fields absent from `initial` empty, for a draft resumed after edits, where a
 * cleared answer must stay cleared; by default they get their `default`); onChange(data); media {attach(path, file)
 * → Promise<file name>, urlOf(name) → URL | null}; locate(fieldSpec, path) → Promise<{lat, lon, accuracy_m, altitude_m,
 * captured_at}>.
 */
export function renderForm (container, definition, options = {}) {
  linkStylesheet()
  const view = new FormView(container, definition, options)
  return {
    data: () => view.data(),
    check: () => view.check(),
    showErrors: (errors) => view.showErrors(errors || []),
    setLanguage: (language) => view.setLanguage(language),
    destroy: () => view.destroy()
  }
}
