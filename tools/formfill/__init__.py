"""Valid submissions for any survey form definition, drawn from a seeded random.Random, and their mutations.

`fill(definition, rng)` walks the form's fields in order and draws a plausible value for each relevant one (by
type, by name, within min/max, matching `pattern`, and checked against the field's `constraint` as it is drawn),
then lets the server compute the calculations, drops what is no longer relevant, fills what became relevant, and
goes round again until nothing changes. A value that still breaks a rule once the rest is known is drawn again.
Cross-field rules that random draws cannot hit (the household size, the one head, the householder's name) and
realistic households come from the per-form hints in tools/formfill/hints/. The same seed gives the same
submission; `today` (a fixed date by default) anchors the dates.

`mutations(definition, data, rng)` breaks a valid submission in one place per kind (MUTATION_KINDS) and says which
problem the validator must report, at which path.

Modules: form (a form compiled for filling), values (one value by type and name), patterns (strings matching a
`pattern`), walk (the fill loop and its repair), mutators (the mutations), idcard (GB 11643 identity numbers),
samples (names, places, codes), hints/ (per form).
"""

from tools.formfill.form import iter_fields
from tools.formfill.hints.base import REFERENCE_DATE
from tools.formfill.mutators import MUTATION_KINDS, Mutation, mutate, mutations
from tools.formfill.walk import FillError, fill

__all__ = ["MUTATION_KINDS", "REFERENCE_DATE", "FillError", "Mutation", "fill", "iter_fields", "mutate", "mutations"]
