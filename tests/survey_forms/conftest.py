"""The JsonLogic conformance tally: filled by test_jsonlogic_conformance.py, printed at the end of the run."""

from __future__ import annotations

import pytest

TALLY = pytest.StashKey[dict]()


@pytest.fixture
def jsonlogic_tally(request: pytest.FixtureRequest) -> dict[str, tuple[int, int, int]]:
    """suite file -> (passed, total, expected failures); shared by the whole session."""
    return request.config.stash.setdefault(TALLY, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    tally = config.stash.get(TALLY, None)
    if not tally:
        return
    terminalreporter.section("JsonLogic conformance")
    for suite, (passed, total, unsupported) in tally.items():
        note = f" ({unsupported} unsupported, listed in the test)" if unsupported else ""
        terminalreporter.write_line(f"jsonlogic {suite}: {passed}/{total} passed{note}")
    passed = sum(counts[0] for counts in tally.values())
    total = sum(counts[1] for counts in tally.values())
    terminalreporter.write_line(f"jsonlogic total: {passed}/{total} cases in {len(tally)} suite files")
