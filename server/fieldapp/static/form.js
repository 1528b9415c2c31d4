// Renders a survey form definition as touch-sized widgets and gives the submission data the server's validator accepts.

import { finite, isRecord } from './form-checks.js'
import { checkLevel, compileForm, evaluate, geopointOf, holds, messageText, parametersOf, plain, requiredIn, startingValues } from './form-model.js'
import { bilingual, clearWords, el, labelOf, said, setWords, showLanguage, textWidget, WIDGETS, words, WORDS }
  from './form-widgets.js'

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
