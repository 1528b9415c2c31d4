"""Running the Python source the form compilers write, so that tracebacks and profiles show it."""

from __future__ import annotations

import hashlib
import linecache
from typing import Any


def run(source: str, label: str, namespace: dict[str, Any]) -> None:
    """Executes `source` in `namespace` under a file name of its own, `<label #digest>`.

    The source is put in linecache under that name, so a traceback through generated code shows the generated line
    instead of nothing; the digest keeps two different sources (two rules at one place of two forms) apart in
    tracebacks and in profiles, which merge functions by file name and line.
    """
    filename = f"<{label} #{hashlib.sha256(source.encode()).hexdigest()[:10]}>"
    # An entry without a modification time is never dropped by linecache.checkcache: it is not a file on disk.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)  # nosec B102  # noqa: S102 - our own source, never a form's text
