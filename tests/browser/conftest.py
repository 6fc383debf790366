"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

Playwright cannot download its own browsers here, so it drives /usr/bin/chromium (`make browser` installs it).
A missing Chromium fails every browser test with a message saying so: it is never a silent skip.

- `browser` starts once for all the browser tests (this package) and closes after the last one. While
  Playwright's sync API runs it keeps an asyncio loop running in the main thread, and Django then refuses
  ORM calls there (SynchronousOnlyOperation) although nothing runs concurrently. So the ORM is allowed
  during the browser tests only, and Playwright stops when they end: the rest of the suite keeps Django's
  check, which a session-wide browser would switch off for every test collected after these.
- `page` is a fresh context (cookies, storage) per test on the live server, in the test's `language`
  (Accept-Language and navigator.language) and `screen` ("desktop" 1280x900, "phone" 360x740 as a touch
  phone); parametrize either to change it. After the test, passed or failed, the final screen is saved to
  var/artifacts/screenshots/<test name>.png (CI keeps var/artifacts); `screenshot` keeps one on the way.
- The database is the transactional kind, since the server answers from its own threads.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Browser, Error, Page, ViewportSize, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Browser locales for the site's languages; Django picks the language from the Accept-Language they send.
LOCALES = {"uz": "uz-UZ", "ru": "ru-RU", "en": "en-GB"}
SCREENSHOTS = Path(settings.VAR_DIR) / "artifacts" / "screenshots"
PASSWORD = "test-pass-123"  # what factories.UserFactory sets
# Long enough for a slow shared machine, short enough that a missing element fails the test quickly.
TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Screen:
    viewport: ViewportSize
    mobile: bool = False


SCREENS = {
    "desktop": Screen(ViewportSize(width=1280, height=900)),
    "phone": Screen(ViewportSize(width=360, height=740), mobile=True),
}


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}, and it is missing. Install it with "
            "`make browser` (as root: apt-get update && "
            "apt-get install -y --no-install-recommends chromium).",
            pytrace=False,
        )
    expect.set_options(timeout=TIMEOUT_MS)
    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if allowed is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed


@pytest.fixture
def language() -> str:
    """The browser's language; parametrize `language` to change it."""
    return "uz"


@pytest.fixture
def screen() -> str:
    """The screen's shape, "desktop" or "phone"; parametrize `screen` to change it."""
    return "desktop"


@pytest.fixture
def page(
    browser: Browser,
    live_server: LiveServer,
    transactional_db: None,
    language: str,
    screen: str,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    cache.clear()  # rate limits and sign-in counters start afresh
    shape = SCREENS[screen]
    context = browser.new_context(
        base_url=live_server.url,
        locale=LOCALES[language],
        timezone_id="Asia/Tashkent",
        viewport=shape.viewport,
        is_mobile=shape.mobile,
        has_touch=shape.mobile,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        try:
            save_screenshot(page, request.node.name)
        except Error as error:  # a crashed page: the test's own failure says more than this would
            warnings.warn(f"no screenshot of {request.node.name}: {error.message}", stacklevel=1)
        context.close()
        cache.clear()


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """Keep a screen on the way, besides the final one: `screenshot("refused")` saves <test>-refused.png."""
    return lambda step: save_screenshot(page, f"{request.node.name}-{step}")


def save_screenshot(page: Page, test_name: str) -> Path:
    """The whole page as the test left it: var/artifacts/screenshots/<test name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^\w.]+", "-", test_name).strip("-") + ".png")
    page.screenshot(path=path, full_page=True, animations="disabled")
    return path


def translated(language: str, text: str) -> str:
    """`text` as the page shows it in `language`; on a Russian or Uzbek page it must be translated."""
    with translation.override(language):
        result = gettext(text)
    assert result != text or language == "en", f"{text!r} has no {language} translation"
    return result
