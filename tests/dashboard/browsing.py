"""What the dashboard's browser tests drive: Debian's headless Chromium (never a
downloaded browser), pages in contexts of their own, signing in, screenshots."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "dashboard"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}
TIMEOUT_MS = 15_000


class HasUrl(Protocol):
    url: str


class Chromium:
    """Debian's headless Chromium, driven through Playwright's sync API.

    After every call the sync API leaves its event loop marked as this thread's running
    loop, and with that mark ``asyncio.run`` (the seeding helpers) and pytest-asyncio's
    tests refuse to start. So the mark is taken off between the tests that drive the
    browser and put back while one does (``in_use``): the browser can live for the whole
    session without leaking its loop into the tests around it.
    """

    def __init__(self) -> None:
        assert Path(CHROMIUM).exists(), "install Debian's chromium (scripts/test.sh does)"
        self._manager = sync_playwright()
        playwright = self._manager.start()
        self.browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=ARGS
        )
        self._loop = asyncio.get_running_loop()
        asyncio._set_running_loop(None)

    @contextmanager
    def in_use(self) -> Iterator[Browser]:
        asyncio._set_running_loop(self._loop)
        try:
            yield self.browser
        finally:
            asyncio._set_running_loop(None)

    def close(self) -> None:
        asyncio._set_running_loop(self._loop)
        self.browser.close()
        self._manager.__exit__()  # ends the loop, which takes the mark off


def sign_in(page: Page, gateway: HasUrl, key: str) -> None:
    page.goto(f"{gateway.url}/")
    expect(page).to_have_url(re.compile(r"/dashboard/signin"))
    page.fill("#key", key)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard/requests$"))


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


class Pages:
    """Pages of this test, each in a context of its own, closed when the test ends."""

    def __init__(self, browser: Browser, gateway: HasUrl) -> None:
        self._browser = browser
        self._gateway = gateway
        self._contexts: list[BrowserContext] = []

    def new(self, **context_options: Any) -> Page:
        """A page of a new context: 1440x900 and a 15 s timeout unless told otherwise."""
        context = self._browser.new_context(**{"viewport": VIEWPORT, **context_options})
        self._contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    def signed_in(self, key: str, **context_options: Any) -> Page:
        """A new page signed in to the dashboard with ``key``."""
        page = self.new(**context_options)
        sign_in(page, self._gateway, key)
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()
