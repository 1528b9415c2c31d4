// The form's widgets, one per field type, and the small DOM helpers they share with the view in form.js.

import { finite, isRecord } from './form-checks.js'
import { answered, fromLocal, plain, toLocal } from './form-model.js'

const SELECT_ABOVE = 8 // more choices than this: a drop-down list instead of radio buttons

/** The form's own words, [zh, en]: the buttons' and the empty values'. */
export const WORDS = {
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

// Small DOM helpers -----------------------------------------------------------------------------------------------

/** An element with its attributes (true: present; null, undefined and false: left out) and its children. */
export function el (tag, attributes = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? '' : value)
  }
  node.append(...children.filter((child) => child !== null && child !== undefined))
  return node
}

/** A text in both languages: setLanguage shows the one chosen (the other when one is missing). */
export function words (zh, en, className) {
  return setWords(el('span', className ? { class: className } : {}), zh, en)
}

/** Gives a node its text in both languages and shows the one of the form it is in. */
export function setWords (node, zh, en) {
  node.dataset.zh = zh ?? en ?? ''
  node.dataset.en = en ?? zh ?? ''
  node.textContent = node.dataset[node.closest('[data-language]')?.dataset.language === 'en' ? 'en' : 'zh']
  return node
}

/** Empties a node of its text in both languages. */
export function clearWords (node) {
  delete node.dataset.zh
  delete node.dataset.en
  node.textContent = ''
}

/** A definition's {zh, en} text as words. */
export function bilingual (text, className) {
  return words(text?.zh, text?.en, className)
}

/** One of WORDS as words. */
export function said (key, className) {
  return words(...WORDS[key], className)
}

/** Shows every text in both languages under root in the one chosen. */
export function showLanguage (root, language) {
  for (const node of root.querySelectorAll('[data-zh]')) node.textContent = node.dataset[language]
}

/** A field's label: its text, the mark form.css shows on a required field, and its hint. */
export function labelOf (spec, tag, attributes = {}) {
  return el(tag, { class: 'field-label', ...attributes }, bilingual(spec.label, 'label-text'),
    el('span', { class: 'required-mark', 'aria-hidden': 'true' }, ' *'), spec.hint ? bilingual(spec.hint, 'hint') : null)
}

function button (key, attributes) {
  return el('button', { type: 'button', ...attributes }, said(key))
}

// Widgets: each builds its part of a field's wrapper and returns how to show a value --------------------------------

/** Each field type's widget, called with the view and w, the field's record (field, path, holder, wrapper, id). */
export const WIDGETS = {
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

/** A text box, a text area for long texts: the widget too of a type with none of its own. */
export function textWidget (view, w) {
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
