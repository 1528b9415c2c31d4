"""Answers a rendered form (server/fieldapp/static/form.js) through its widgets, as a thumb would, until its data is
the answers wanted: the renderer's tests and the field app's tests drive forms with it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

ROW_PATH = re.compile(r"(\w+)\[(\d+)\]\.(\w+)")
# The smallest file a JPEG reader takes for one: the renderer keeps it as it is.
TINY_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GEOPOINT_COMPARED = ("lat", "lon", "accuracy_m")  # the phone adds its own altitude and time of the fix

# What the enumerator sees now under `root`: the visible fields in page order.
FIELDS = """root => [...document.querySelectorAll(`${root} div.field[data-path]`)]
  .filter((node) => !node.closest('[hidden]'))
  .map((node) => ({ path: node.dataset.path, type: node.dataset.type, widget: node.dataset.widget || null,
    rows: node.querySelectorAll(':scope > .repeat-rows > .repeat-row').length }))"""


def value_at(data: dict[str, Any], path: str) -> Any:
    match = ROW_PATH.fullmatch(path)
    if match is None:
        return data.get(path)
    rows = data.get(match[1]) or []
    index = int(match[2])
    return rows[index].get(match[3]) if index < len(rows) else None


def same(actual: Any, expected: Any) -> bool:
    """Equal as the server compares calculations: numbers within 1e-6 relative; a selection in any order."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-6)
    if isinstance(actual, list) and isinstance(expected, list):
        if all(isinstance(item, str) for item in actual + expected):
            return sorted(actual) == sorted(expected)
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in actual)
    return actual == expected


def same_answer(kind: str, have: Any, want: Any) -> bool:
    if kind == "geopoint" and isinstance(have, dict) and isinstance(want, dict):
        return all(same(have.get(key), want.get(key)) for key in GEOPOINT_COMPARED)
    return same(have, want)


def _number_text(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(value)


class Driver:
    """Drives the form under `root`; `data()` reads what the form would send now, `locate(fix)` makes the phone's
    next GPS fix that one, `photo` is the file a photo field is given."""

    def __init__(self, page, root: str, data: Callable[[], dict[str, Any]], locate: Callable[[dict], None],
                 photo: bytes = TINY_JPEG):
        self.page, self.root, self.data, self.locate, self.photo = page, root, data, locate, photo

    def answer(self, field: dict[str, Any], want: Any, have: Any) -> None:
        """One answer given through the field's widget (None: the answer taken away)."""
        page, path, kind = self.page, field["path"], field["type"]
        named = f'{self.root} [name="{path}"]'
        if kind in ("text", "date"):
            page.fill(named, want or "")
        elif kind in ("integer", "decimal"):
            page.fill(named, "" if want is None else _number_text(want))
        elif kind == "datetime":
            page.fill(named, want[:19] if want else "")  # the form's times are China time, as the widget reads them
        elif kind == "select_one" and field["widget"] == "select":
            page.select_option(named, want or "")
        elif kind == "select_one":
            if want is None:
                page.click(f'{self.root} button[data-clear="{path}"]')
            else:
                page.check(f'{named}[value="{want}"]')
        elif kind == "select_multiple":
            for choice in set(want or []) ^ set(have or []):
                page.set_checked(f'{named}[value="{choice}"]', choice in (want or []))
        elif kind == "geopoint" and want is not None:
            self.locate(want)
            page.click(f'{self.root} button[data-locate="{path}"]')
        elif kind in ("photo", "audio") and want is not None:
            page.set_input_files(f'{self.root} input[type=file][name="{path}"]',
                                 files=[{"name": want, "mimeType": "image/jpeg", "buffer": self.photo}])
        elif kind in ("geopoint", "photo", "audio"):
            page.click(f'{self.root} button[data-clear="{path}"]')
        else:
            raise AssertionError(f"no way to answer {kind} at {path}")

    def rows(self, field: dict[str, Any], want: int) -> None:
        if field["rows"] < want:
            self.page.click(f'{self.root} button[data-add="{field["path"]}"]')
        else:
            self.page.click(f'{self.root} div.repeat-row[data-path="{field["path"]}[{field["rows"] - 1}]"] button[data-remove]')

    def drive(self, answers: dict[str, Any], probe: Callable[[], Any] | None = None, every: int = 20) -> None:
        """Answers the first visible field that differs from `answers`, looks again (relevance may have changed what
        is shown), and so on until the form's data is the answers; `probe` runs every `every` answers."""
        tries: dict[str, int] = {}
        for step in range(1000):
            data = self.data()
            for field in self.page.evaluate(FIELDS, self.root):
                path, kind = field["path"], field["type"]
                want, have = value_at(answers, path), value_at(data, path)
                if kind in ("calculate", "note") or (kind != "repeat" and same_answer(kind, have, want)):
                    continue
                if kind == "repeat" and field["rows"] == len(want or []):
                    continue
                attempt = f"{path}/{field['rows']}" if kind == "repeat" else path  # a row added is progress
                tries[attempt] = tries.get(attempt, 0) + 1
                assert tries[attempt] <= 3, f"{path}: still {have!r} after answering {want!r}"
                self.rows(field, len(want or [])) if kind == "repeat" else self.answer(field, want, have)
                break
            else:
                return
            if probe is not None and step % every == 0:
                probe()
        raise AssertionError("the form never settled on the answers")
