"""The browser tests' Chromium: one per pytest(-xdist) worker, with a new context (cookies,
storage, permissions) for every test, so that tests share the process and nothing else.
Starting Playwright's driver and Chromium takes seconds; a context, milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from .browsing import Chromium, HasUrl, Pages


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    started = Chromium()
    yield started
    started.close()


@pytest.fixture
def browser(chromium: Chromium) -> Iterator[Browser]:
    """The worker's Chromium, for this test."""
    with chromium.in_use() as browser:
        yield browser


@pytest.fixture
def pages(browser: Browser, gateway: HasUrl) -> Iterator[Pages]:
    opened = Pages(browser, gateway)
    yield opened
    opened.close()


@pytest.fixture
def page(pages: Pages) -> Page:
    """A new page, not signed in (a module whose tests all use one key overrides this)."""
    return pages.new()
