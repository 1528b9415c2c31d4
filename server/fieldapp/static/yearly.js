// The yearly lines a visit's rules read, as the server picks them (sync/yearly_parameters.py): county, else prefecture, else province.

import { chinaClock } from './clock.js'
import * as store from './store.js'

const AREA_LENGTHS = [2, 4, 6] // province, prefecture, county: the longest that has a row wins
const NAMES = ['monitoring_line', 'dibao_standard', 'watch_line']

/** The form's parameter values with the yearly figures of the visit's area and income year put over them. */
export async function parametersFor (definition, draft) {
  const values = Object.fromEntries(Object.entries(definition.parameters || {}).map(([name, p]) => [name, p.value]))
  const rows = (await store.get('parameters', 'all')) || []
  return { ...values, ...yearly(rows, draft.subject.area_code, yearOf(draft)) }
}

/** The visit's income year (`income_year`), else the year it is made: the same choice as the server's. */
export function yearOf (draft) {
  const year = draft.data?.income_year
  return Number.isInteger(year) ? year : Number(chinaClock(new Date()).slice(0, 4))
}

function yearly (rows, areaCode, year) {
  const codes = AREA_LENGTHS.filter((n) => areaCode && areaCode.length >= n).map((n) => areaCode.slice(0, n)).reverse()
  for (const code of codes) {
    const row = rows.find((r) => r.year === year && r.area_code === code)
    if (row) return Object.fromEntries(NAMES.map((name) => [name, row[name]]))
  }
  return {}
}
