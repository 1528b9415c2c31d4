// JsonLogic for the form's rules, as the server evaluates them (survey_forms/rules): json-logic-engine, configured.
import { Constants, LogicEngine } from '/web/vendor/json-logic-engine.js'

// Each departure from the library below is one the conformance suites (tests/data/conformance/jsonlogic) ask for.
class FormLogic extends LogicEngine {
  truthy (value) {
    // truthiness.json "Truthy: {}", "Truthy: Zero Key Object" (and control/if, not, doublebang): {} is true.
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return true
    return super.truthy(value)
  }
}

const engine = new FormLogic()
const invalidArguments = () => ({ type: 'Invalid Arguments' })

/** Replaces an operator by `wrap(its method)`, keeping its other traits (laziness, determinism). */
function override (name, wrap) {
  const original = engine.methods[name]
  // The optimizer inlines its own version of an operator marked original (filter's, for one): this one is not.
  engine.addMethod(name, { ...original, [Constants.OriginalImpl]: false, method: wrap(original.method ?? original) })
}

for (const name of ['and', 'or']) {
  // control/and.json "And with no arguments should return false", control/or.json "Empty OR returns false".
  override(name, (method) => (args, ...rest) => Array.isArray(args) && !args.length ? false : method(args, ...rest))
}

// string/substr.json "Substr with non-string input returns empty": 42 is read as "42" (null has no text, as on the server).
override('substr', (method) => ([text, ...rest], ...more) => {
  if (text === null || text === undefined) throw invalidArguments()
  return method([String(text), ...rest], ...more)
})

for (const name of ['map', 'filter']) {
  // array/map.json, array/filter.json "... with null array/mapper/predicate should throw": a literal that is
  // not an array or a rule cannot give the items, and one without a rule for each item is refused.
  override(name, (method) => (args, ...rest) => {
    const [items, rule] = Array.isArray(args) ? args : []
    const givesItems = Array.isArray(items) || (items !== null && typeof items === 'object' && Object.keys(items).length)
    if (!givesItems || rule === null || rule === undefined) throw invalidArguments()
    return method(args, ...rest)
  })
}

for (const name of ['all', 'some', 'none']) {
  // array/all.json, some.json, none.json "Null array should throw", "Missing array returns error": only an array
  // is iterated. The library reads a null as []; the items are worked out again here to tell (rules are pure).
  override(name, (method) => (args, context, above, self) => {
    if (Array.isArray(args) && !Array.isArray(self.run(args[0], context, { above }))) throw invalidArguments()
    return method(args, context, above, self)
  })
}

/** What was thrown, as the server's RuleError.error: a plain object with a `type`. */
function asRuleError (thrown) {
  if (Number.isNaN(thrown)) return { type: 'NaN' } // the library throws a bare NaN for arithmetic that fails
  if (thrown instanceof Error) return { type: thrown.message }
  // try.json "Panic with an error emitted from an operator": the library's try re-throws a NaN as {message: 'NaN'}.
  if (thrown && thrown.message === 'NaN' && Object.keys(thrown).length === 1) return { type: 'NaN' }
  return thrown !== null && typeof thrown === 'object' ? { ...thrown } : { type: thrown }
}

/** A function of the data that evaluates `rule`; it throws {type} when the rule fails on that data. */
export function compileRule (rule) {
  // The engine keeps each rule's evaluation plan (closures, no eval: the CSP forbids it) by the rule object,
  // so it gets a copy that nobody else can change.
  const own = structuredClone(rule)
  return (data = null) => {
    try {
      return engine.run(own, data)
    } catch (thrown) {
      throw asRuleError(thrown)
    }
  }
}

/** JsonLogic's truthiness, as the server's rules.truthy. */
export function truthy (value) {
  return Boolean(engine.truthy(value))
}
