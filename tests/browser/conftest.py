"""The browser suite's one Chromium: launched by the first test that needs it, closed at the end of the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    """Debian's Chromium driven by Playwright, shared by every browser test: each test opens its own context in it
    (cookies, storage and service workers of its own) and closes it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_context(chromium) -> Iterator[Callable]:
    """Opens a context in the shared Chromium, given Playwright's options for it (locale, viewport, ...); every
    context opened so is closed after the test."""
    opened = []

    def open_one(**options):
        opened.append(chromium.new_context(**options))
        return opened[-1]

    yield open_one
    for context in opened:
        context.close()
