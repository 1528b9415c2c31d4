"""Generated rule and level code shows its own source in tracebacks (issue 13, item 9)."""

from __future__ import annotations

import linecache
import traceback

from survey_forms import rules


def test_a_traceback_through_generated_code_shows_the_generated_line() -> None:
    """What a traceback prints of a frame is linecache's line of its file: generated code has its source there."""
    evaluate = rules.compile_rule({"+": [{"var": "a"}, 1]})
    code = evaluate.__code__
    assert code.co_filename.startswith("<rule / #")
    lines = [linecache.getline(code.co_filename, number) for number in range(code.co_firstlineno,
                                                                             code.co_firstlineno + 4)]
    assert lines[0].startswith("def evaluate(") and any("return" in line for line in lines)
    summary = traceback.FrameSummary(code.co_filename, code.co_firstlineno, "evaluate")
    assert summary.line.startswith("def evaluate(")


def test_two_different_rules_at_one_place_get_files_of_their_own() -> None:
    first = rules.compile_rule({"+": [{"var": "a"}, 1]})
    second = rules.compile_rule({"*": [{"var": "a"}, 2]})
    assert first.__code__.co_filename != second.__code__.co_filename
