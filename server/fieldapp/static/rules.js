// JsonLogic for the form's rules, as the server evaluates them (survey_forms/rules): json-logic-engine, configured.
import { LogicEngine } from '/web/vendor/json-logic-engine.js'

const engine = new LogicEngine()

/** A function of the data that evaluates `rule`; it throws {type} when the rule fails on that data. */
export function compileRule (rule) {
  return (data) => engine.run(rule, data)
}

/** JsonLogic's truthiness, as the server's rules.truthy. */
export function truthy (value) {
  return Boolean(engine.truthy(value))
}
