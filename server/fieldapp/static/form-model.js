// What a form's data is, without the page: the definition compiled, relevance, calculations, checks and messages.

// The server's validator (survey_forms/validator.py, checks.py, messages.py) is the reference for every rule here:
// what counts as an answer, what rules see, relevance, calculations, checks, codes, paths and messages.
import { BLANK, GEOPOINT_KEYS, deepEqual, isRecord, repeatShape, sameValue, valueCheck } from './form-checks.js'
import { chinaClock, chinaTime } from './clock.js'
import { compileRule, truthy } from './rules.js'


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

/** A datetime-local entry read as China time. */
export function fromLocal (text) {
  if (!text) return null
  return `${text.slice(0, 19)}${text.length === 16 ? ':00' : ''}+08:00`
}

/** A datetime as a datetime-local entry shows it: in China time, whatever the offset it was sent with. */
export function toLocal (value) {
  const time = typeof value === 'string' ? Date.parse(value) : NaN
  return Number.isNaN(time) ? '' : chinaClock(new Date(time))
}
