"""Central support's pages in a browser: the audit trail, exit with its confirmation, failed notices, the
directory upload, systems and agreements; and a user of a unit is offered none of them, and refused one asked
for by its address with the service's reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from efrikort.cli import SAMPLE_DIRECTORY
from efrikort.infra.paths import repo_root
from tests.browser.conftest import accessible, adult_patient, sign_in

pytestmark = pytest.mark.browser

SUPPORT = "SE2321000016-E004"
"""David Dahl: EFK;Superanvändare at e-frikort centralt stöd."""
CENTRAL = "SE2321000016-U900"
USER = "SE2321000016-E001"
CENTRUM = "SE2321000016-U001"


def partial_sample_directory(folder: Path) -> Path:
    """The sample directory as a partial export: loading it again ends nothing (a full one would end what
    other tests' directories added to the same access)."""
    export = json.loads((repo_root() / SAMPLE_DIRECTORY).read_text()) | {"full": False}
    path = folder / "directory.json"
    path.write_text(json.dumps(export))
    return path


async def test_central_support_reads_a_trail_confirms_an_exit_and_sees_notices_directory_systems(
    page: Page, tmp_path: Path
) -> None:
    patient = adult_patient()
    await sign_in(page, SUPPORT, CENTRAL)
    await page.get_by_role("link", name="Granskningslogg").click()
    await page.get_by_label("Personnummer eller samordningsnummer").fill(patient)
    await page.get_by_role("button", name="Visa loggen").click()
    await expect(page.get_by_role("heading", name="Loggposter, senaste först")).to_be_visible()
    await accessible(page, "central-audit")

    await page.get_by_role("link", name="Utträde och återinträde").click()
    await page.get_by_label("Personnummer eller samordningsnummer").fill(patient)
    await page.get_by_label("Utträde: patienten lämnar e-frikort").check()
    await page.get_by_role("button", name="Fortsätt").click()
    await expect(page.get_by_role("heading", name="Bekräfta utträde")).to_be_visible()
    await accessible(page, "central-exit-confirmation")
    await page.get_by_role("button", name="Ja, genomför utträdet").click()
    await expect(page.get_by_role("status")).to_contain_text("Utträdet är genomfört")

    await page.get_by_role("link", name="Misslyckade utskick").click()
    await expect(page.get_by_role("heading", name="Misslyckade utskick")).to_be_visible()
    await accessible(page)

    await page.get_by_role("link", name="Katalog").click()
    await page.get_by_label("Katalogfil").set_input_files(partial_sample_directory(tmp_path))
    await page.get_by_role("button", name="Ladda upp").click()
    await expect(page.get_by_role("heading", name="Katalogen är inläst")).to_be_visible()
    await accessible(page)

    await page.get_by_role("link", name="System och avtal").click()
    await expect(page.get_by_role("cell", name="SE2321000016-SYS1")).to_be_visible()
    await accessible(page, "central-systems")


async def test_a_user_of_a_unit_is_offered_no_central_page_and_refused_one_asked_for(page: Page) -> None:
    await sign_in(page, USER, CENTRUM)
    for name in ("Granskningslogg", "Utträde och återinträde", "Misslyckade utskick", "Katalog", "System och avtal"):
        await expect(page.get_by_role("link", name=name)).to_have_count(0)
    await page.goto("/central/systems")
    await expect(page.get_by_role("alert")).to_contain_text("Din roll vid enheten tillåter inte det här.")
