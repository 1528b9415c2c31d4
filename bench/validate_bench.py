"""Validations per second of real submissions: `.venv/bin/python bench/validate_bench.py [seconds per case]`.

One household_visit submission with six members and one with thirty, and one of each village form, all drawn by
tools/formfill from fixed seeds and checked to be valid first; then form.validate(data) in a loop on one core, as
compile_form makes it: with the generated functions of survey_forms/level_codegen.py. Also the time to compile each
form (generating those functions included), and how fast tools/formfill makes submissions.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# After the path set-up, so the script runs from anywhere.
from schemas.form_definition import form_definition_schema  # noqa: E402
from survey_forms import loader  # noqa: E402
from survey_forms.definition import FormDefinition  # noqa: E402
from survey_forms.validator import CompiledForm, compile_form  # noqa: E402
from tools import formfill  # noqa: E402

SEED = 20261120
HOUSEHOLD_SIZES = (6, 30)


def one_core() -> str:
    """Pins the process to one CPU where the system allows it (the timings are single-threaded either way)."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"on one core (cpu {cpu})"
    return "on one core"


def compile_seconds(definition: FormDefinition, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        compile_form(definition)
        best = min(best, time.perf_counter() - started)
    return best


def rate(form: CompiledForm, data: dict, seconds: float) -> float:
    """Validations per second, counted in batches so the clock is read rarely."""
    form.validate(data)  # warm up
    count, batch, started = 0, 50, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(batch):
            form.validate(data)
        count += batch
    return count / elapsed


def valid_submission(definition: FormDefinition, form: CompiledForm, members: int | None) -> dict:
    data = formfill.fill(definition, random.Random(SEED), members=members)  # noqa: S311 - repeatable data, not secrets
    problems = form.validate(data)
    if problems:
        raise SystemExit(f"{definition.form_id}: the benchmark submission is not valid: {problems[:5]}")
    return data


def report(definition: FormDefinition, form: CompiledForm, data: dict, what: str, seconds: float, core: str) -> None:
    per_second = rate(form, data, seconds)
    print(f"{definition.form_id} v{definition.version}, {what}: {per_second:,.0f} validations/s "
          f"({1000 / per_second:.3f} ms each) {core}")


def fill_rate(definition: FormDefinition, seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        formfill.fill(definition, random.Random(SEED + count))  # noqa: S311 - repeatable data
        count += 1
    return count / elapsed


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    core = one_core()
    definitions = {d.form_id: d for d in loader.load_all(form_definition_schema())}
    forms = {form_id: compile_form(definition) for form_id, definition in definitions.items()}
    household = definitions["household_visit"]
    for members in HOUSEHOLD_SIZES:
        data = valid_submission(household, forms["household_visit"], members)
        report(household, forms["household_visit"], data, f"{members} members", seconds, core)
    for form_id in ("village_infrastructure", "village_collective"):
        definition = definitions[form_id]
        data = valid_submission(definition, forms[form_id], None)
        rows = {name: len(value) for name, value in data.items() if isinstance(value, list) and value
                and isinstance(value[0], dict)}
        what = ", ".join(f"{count} {name} rows" for name, count in rows.items()) or "no repeat rows"
        report(definition, forms[form_id], data, what, seconds, core)
    for form_id, definition in definitions.items():
        print(f"compile {form_id} v{definition.version}: {compile_seconds(definition) * 1000:.1f} ms")
    for form_id, definition in definitions.items():
        print(f"formfill {form_id}: {fill_rate(definition, min(seconds, 1.0)):,.0f} valid submissions/s")


if __name__ == "__main__":
    main()
