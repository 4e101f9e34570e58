"""The desk in a real browser: headless Chromium (the machine's own package) driven by Playwright, against the
whole stack as processes (Kafka, PostgreSQL, the four services as the e2e tests start them, and the desk).

Every page a test visits is checked with axe-core (injected as an init script, which the page's CSP does not
govern, so the CSP is not bypassed) and must show no serious or critical violation; and no page may break its
own Content-Security-Policy (a violation is reported on the console, which the tests watch).
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright, expect

from contracts.identity import with_check_digit
from efrikort.infra.paths import repo_root, var_dir
from efrikort.services import DESK, ServiceProcess, desk_env
from runtime.settings import DEVELOPMENT_ENV
from tests.infra_fixtures import free_ports

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
AXE = repo_root() / "services" / "desk" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = repo_root() / "docs" / "desk"
SERIOUS = ("serious", "critical")

# A page waits for the services it calls; on a busy two-core machine (and right after the stack has started)
# that can take seconds. A generous bound, not a timing the tests assert.
expect.set_options(timeout=20_000)


def adult_patient() -> str:
    """A fresh identity number of someone between 30 and 60: fees count for them (no age exemption)."""
    rng = random.Random()
    year = time.localtime().tm_year - rng.randint(30, 60)
    digits = f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    number = with_check_digit(digits)
    return f"{number[:8]}-{number[8:]}"


@pytest.fixture(scope="session")
def desk(services: dict[str, ServiceProcess]) -> Iterator[ServiceProcess]:
    logs = var_dir() / "test" / "logs" / time.strftime("%Y%m%d-%H%M%S")
    [port] = free_ports(1)
    process = ServiceProcess(DESK, port, {**desk_env(services), **DEVELOPMENT_ENV}, logs / "desk.log")
    process.start()
    try:
        process.wait_ready(timeout=60)
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run npm ci in services/desk")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Watched:
    """What a browser context said on its console that a page must never cause."""

    csp_violations: list[str] = field(default_factory=list)

    def seen(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_violations.append(message.text)


async def new_context(browser: Browser, desk: ServiceProcess, *, javascript: bool = True) -> BrowserContext:
    context = await browser.new_context(
        base_url=desk.url,
        accept_downloads=True,
        java_script_enabled=javascript,
        viewport={"width": 1280, "height": 900},
        locale="sv-SE",
    )
    if javascript:
        await context.add_init_script(path=AXE)
    return context


@pytest.fixture
async def page(browser: Browser, desk: ServiceProcess) -> AsyncIterator[Page]:
    """A page in a fresh context (its own session), axe ready in it, its console watched for CSP violations."""
    context = await new_context(browser, desk)
    watched = Watched()
    page = await context.new_page()
    page.on("console", watched.seen)
    try:
        yield page
    finally:
        await context.close()
    assert watched.csp_violations == [], "a page broke its Content-Security-Policy"


async def accessible(page: Page, name: str | None = None) -> None:
    """No serious or critical axe-core violation on the page as it stands; a screenshot when named."""
    found = await page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v.get("impact") in SERIOUS
    ]
    assert serious == [], f"{page.url}: " + "; ".join(serious)
    if name is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def sign_in(page: Page, person: str, unit: str, *, check: bool = False) -> None:
    """The development sign-in as `person`, then acting for `unit`."""
    await page.goto("/sign-in")
    if check:
        await accessible(page, "sign-in")
    await page.get_by_label("Person (HSA-id)").select_option(person)
    await page.get_by_role("button", name="Logga in").click()
    await page.wait_for_url("**/units")
    if check:
        await accessible(page, "units")
    await page.locator(f"input[name=care_unit][value='{unit}']").check()
    await page.get_by_role("button", name="Fortsätt").click()
    await page.wait_for_url(lambda url: url.endswith("/"))
