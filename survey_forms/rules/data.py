"""Rule operators that read the data: var, val, exists, missing, missing_some, and preserve for literal data."""

from __future__ import annotations

import copy
import functools
from typing import Any

from survey_forms.rules.js import RuleError, invalid_arguments, to_number, to_text, utf16_length, utf16_slice
from survey_forms.rules.logic import constant

MISSING = object()  # a path that does not resolve, as opposed to one that holds null
LITERAL_KEYS = (str, int, float, bool, type(None))
MAX_CLIMB = 1_000  # more scopes than any rule can nest


def segment(key: Any) -> tuple[str, int | None]:
    """A path step as JavaScript's property access sees it: the key's text and, if canonical, an array index."""
    text = key if type(key) is str else to_text(key)
    index = int(text) if text.isascii() and text.isdigit() and (text == "0" or text[0] != "0") else None
    return text, index


def step(value: Any, text: str, index: int | None) -> Any:
    kind = type(value)
    if kind is dict:
        return value.get(text, MISSING)
    if kind is list:
        if index is not None:
            return value[index] if index < len(value) else MISSING
        return len(value) if text == "length" else MISSING
    if kind is str:
        if index is not None:
            return utf16_slice(value, index, index + 1) if index < utf16_length(value) else MISSING
        return utf16_length(value) if text == "length" else MISSING
    return MISSING


def walk(value: Any, steps: tuple[tuple[str, int | None], ...]) -> Any:
    for text, index in steps:
        value = step(value, text, index)
        if value is MISSING:
            return MISSING
    return value


def dotted(path: Any) -> tuple[tuple[str, int | None], ...]:
    """var's path: "a.b.0" is three steps; "", null and [] are the data itself."""
    if path is None or path == "" or path == []:
        return ()
    return tuple(segment(part) for part in to_text(path).split("."))


def climb(d: Any, up: Any, levels: int) -> Any:
    """The value `levels` scopes up: each iterator adds two (its frame, then the data it was called on)."""
    if levels == 0:
        return d
    hops, slot = divmod(levels - 1, 2)
    for _ in range(hops):
        if up is None:
            return MISSING
        up = up[2]
    return MISSING if up is None else up[slot]


def val_plan(path: Any) -> tuple[int, tuple[tuple[str, int | None], ...]]:
    """val's argument as (levels to climb, steps): a key, or a list of keys led by an optional [levels]."""
    if path is None or path == []:
        return 0, ()
    if type(path) is not list:
        return 0, (segment(path),)
    levels = 0
    if type(path[0]) is list and len(path[0]) == 1:
        levels = _levels(path[0][0])
        path = path[1:]
    return levels, tuple(segment(key) for key in path if key is not None)


def _levels(count: Any) -> int:
    # [[-2]] climbs as [[2]] does; anything that is not a finite number climbs nowhere.
    if type(count) not in (int, float) or count != count:
        return 0
    return int(min(abs(count), MAX_CLIMB))


def _resolve(d: Any, up: Any, plan) -> Any:
    levels, steps = plan
    return walk(climb(d, up, levels) if levels else d, steps)


def is_literal_path(arg: Any) -> bool:
    """Whether val's argument is written out (keys and an optional [levels]), so it can be planned once."""
    if type(arg) is list:
        head = arg[1:] if arg and type(arg[0]) is list and len(arg[0]) == 1 and type(arg[0][0]) in (int, float) else arg
        return all(type(key) in LITERAL_KEYS for key in head)
    return type(arg) in LITERAL_KEYS


def compile_val(c, op: str, arg: Any, at: str):
    if is_literal_path(arg):
        plan = val_plan(arg)
        levels, steps = plan
        if op == "exists":
            return lambda d, up: _resolve(d, up, plan) is not MISSING
        if levels == 0 and len(steps) == 1:
            return _read_key(*steps[0])
        return lambda d, up: _present(_resolve(d, up, plan))
    path = c.node(arg, c.inner(at, op))
    if op == "exists":
        return lambda d, up: _resolve(d, up, val_plan(_runtime_path(path(d, up)))) is not MISSING
    return lambda d, up: _present(_resolve(d, up, val_plan(_runtime_path(path(d, up)))))


def _runtime_path(path: Any) -> Any:
    if type(path) is list and not is_literal_path(path):
        raise invalid_arguments()
    if type(path) is dict:
        raise invalid_arguments()
    return path


def _present(value: Any) -> Any:
    return None if value is MISSING else value


def _read_key(text: str, index: int | None):
    def read_key(d, up):
        if type(d) is dict:
            return d.get(text)
        value = step(d, text, index)
        return None if value is MISSING else value

    return read_key


def compile_var(c, op: str, arg: Any, at: str):
    inner = c.inner(at, op)
    if type(arg) is dict and arg:
        dynamic = c.node(arg, inner)
        return lambda d, up: _var_dynamic(d, dynamic(d, up))
    parts = arg if type(arg) is list else [arg]
    path = parts[0] if parts else None
    fallback = c.node(parts[1], f"{inner}/1") if len(parts) > 1 else None
    if type(path) not in LITERAL_KEYS:
        path_fn = c.node(path, f"{inner}/0")
        fallback = fallback or constant(None)
        return lambda d, up: _or_default(walk(d, dotted(path_fn(d, up))), fallback(d, up))
    steps = dotted(path)
    if not steps:
        return lambda d, up: d
    known, default = c.constant_of(parts[1]) if fallback else (True, None)
    if len(steps) == 1 and known:
        return _read_field(*steps[0], default)
    if known:
        return _read_path(steps, default)
    return lambda d, up: _or_default(walk(d, steps), fallback(d, up))


def _or_default(value: Any, default: Any) -> Any:
    # Like the engine's compiled var (`?? default`): a null value also takes the default.
    return default if value is MISSING or value is None else value


def _read_field(text: str, index: int | None, default: Any):
    def read_field(d, up):
        if type(d) is dict:
            value = d.get(text)
            return default if value is None else value
        return _or_default(step(d, text, index), default)

    return read_field


def _read_path(steps: tuple[tuple[str, int | None], ...], default: Any):
    def read_path(d, up):
        # "$params.monitoring_line" and the like: dict lookups inline, other containers through step().
        value = d
        for text, index in steps:
            value = value.get(text) if type(value) is dict else _present(step(value, text, index))
            if value is None:
                return default
        return value

    return read_path


def _var_dynamic(d: Any, args: Any) -> Any:
    if type(args) is list:
        return _or_default(walk(d, dotted(args[0] if args else None)), args[1] if len(args) > 1 else None)
    return _or_default(walk(d, dotted(args)), None)


def absent(d: Any, keys: list) -> list:
    """The keys (dotted paths) that do not resolve in d; a key holding null is present."""
    return [key for key in keys if walk(d, _key_steps(key) if type(key) in LITERAL_KEYS else dotted(key)) is MISSING]


@functools.lru_cache(maxsize=4096, typed=True)
def _key_steps(key: Any) -> tuple[tuple[str, int | None], ...]:
    # missing's keys are split like var's paths, except that "" is a key, not the whole data.
    return tuple(segment(part) for part in to_text(key).split("."))


def compile_missing(c, op: str, arg: Any, at: str):
    values = c.values(op, arg, at)
    if op == "missing":
        return lambda d, up: _missing(d, values(d, up))
    return lambda d, up: _missing_some(d, values(d, up))


def _missing(d: Any, values: list) -> list:
    # json-logic-js also accepts the keys as one list: {"missing": [["a", "b"]]}.
    return absent(d, values[0] if values and type(values[0]) is list else values)


def _missing_some(d: Any, values: list) -> list:
    if len(values) < 2 or type(values[1]) is not list:
        raise invalid_arguments()
    options = values[1]
    missing = absent(d, options)
    try:
        need = to_number(values[0])
    except RuleError:
        return missing  # JavaScript compares with NaN: never enough
    return [] if len(options) - len(missing) >= need else missing


def compile_preserve(c, op: str, arg: Any, at: str):
    if type(arg) in (list, dict):
        # A copy each time, so a caller changing a result cannot change the compiled rule.
        return lambda d, up: copy.deepcopy(arg)
    return constant(arg)


OPERATORS = {
    "var": compile_var, "val": compile_val, "exists": compile_val,
    "missing": compile_missing, "missing_some": compile_missing,
    "preserve": compile_preserve,
}
