"""The desk in a browser, as the people of the sample directory use it: sign in, pick a unit, look a patient
up, quote and register fees until the free card, correct one, download the extract; what a limited user
cannot do, a post without its CSRF token, the English switch, and the same flow with JavaScript off."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from pypdf import PdfReader

from contracts.clock import today_in_sweden
from efrikort.services import ServiceProcess
from tests.browser.conftest import accessible, adult_patient, new_context, sign_in

pytestmark = pytest.mark.browser

USER = "SE2321000016-E001"
"""Anna Andersson: EFK;Användare at Vårdcentralen Centrum."""
LIMITED = "SE2321000016-E002"
"""Bertil Berg: EFK;BegränsadAnvändare at the same unit."""
CENTRUM = "SE2321000016-U001"


def session_text(cookie: str) -> str:
    """What a signed session cookie holds, readable (its payload is base64 JSON before the signature)."""
    payload = cookie.split(".")[0]
    return base64.b64decode(payload + "=" * (-len(payload) % 4)).decode(errors="replace")


def days_ago(days: int) -> str:
    return (today_in_sweden() - timedelta(days=days)).isoformat()


async def look_up(page: Page, patient: str) -> None:
    await page.get_by_label("Personnummer eller samordningsnummer").first.fill(patient)
    await page.get_by_role("button", name="Sök", exact=True).first.click()
    await expect(page.get_by_role("heading", name="Patientens högkostnadsskydd")).to_be_visible()


async def fill_fee(page: Page, visit_date: str, amount: int) -> None:
    await page.get_by_label("Besöksdatum").fill(visit_date)
    await page.get_by_label("Avgiftstyp").select_option("doctor_visit")
    await page.get_by_label("Avgift (kr)").fill(str(amount))


async def register(page: Page, visit_date: str, amount: int) -> None:
    """Register the fee and wait for the desk's answer (the previous fee's outcome may still be on the page)."""
    await fill_fee(page, visit_date, amount)
    async with page.expect_response(lambda r: r.url.endswith("/patient/fees"), timeout=30_000):
        await page.get_by_role("button", name="Registrera avgift").click()
    await expect(page.get_by_role("heading", name="Avgiften är registrerad")).to_be_visible()


async def test_a_user_registers_fees_until_the_free_card_corrects_one_and_downloads_the_extract(page: Page) -> None:
    patient = adult_patient()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    await sign_in(page, USER, CENTRUM, check=True)
    await accessible(page, "home")
    await look_up(page, patient)
    await expect(page.locator("#status-value")).to_have_text("Ej uppnått")
    await accessible(page)

    await fill_fee(page, days_ago(40), 400)
    await page.get_by_role("button", name="Vad kostar besöket?").click()
    await expect(page.locator("#quote")).to_contain_text("Att betala: 400\u00a0kr")
    for days in (40, 30, 20):
        await register(page, days_ago(days), 400)
        await expect(page.locator(".outcome")).to_contain_text("Att betala: 400\u00a0kr")
    await expect(page.locator("#remaining-value")).to_have_text("250\u00a0kr")

    await fill_fee(page, days_ago(10), 400)
    async with page.expect_response(lambda r: r.url.endswith("/patient/quote")):
        await page.get_by_role("button", name="Vad kostar besöket?").click()
    await expect(page.locator("#quote")).to_contain_text("Att betala: 250\u00a0kr; frikortet nås")
    await accessible(page)
    await register(page, days_ago(10), 400)
    await expect(page.locator(".outcome")).to_contain_text("Att betala: 250\u00a0kr")
    await expect(page.locator("#free-card")).to_contain_text("Frikortsnummer")
    await accessible(page, "patient")

    await page.get_by_role("row").filter(has_text=days_ago(40)).get_by_role("button").click()
    await expect(page.get_by_role("heading", name="Versioner")).to_be_visible()
    await page.get_by_label("Avgift (kr)").fill("300")
    await page.get_by_label("Orsak till rättelsen").fill("fel taxa")
    await page.get_by_role("button", name="Spara rättelse").click()
    await expect(page.get_by_text("Avgiften är rättad.")).to_be_visible()
    await page.get_by_role("row").filter(has_text=days_ago(40)).get_by_role("button").click()
    await expect(page.get_by_role("cell", name="fel taxa")).to_be_visible()
    await accessible(page, "fee")

    await page.get_by_role("button", name="Tillbaka till patienten").click()
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Ladda ner sammanställning (PDF)").click()
    download = await download_info.value
    pdf = PdfReader(io.BytesIO((await download.path()).read_bytes()))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert "Sammanst" in text and "1450" in text.replace(" ", "").replace("\u00a0", "")

    digits = patient.replace("-", "")
    assert len(urls) > 10 and [u for u in urls if digits in u or patient in u or digits[2:] in u] == []
    session = "".join(c["value"] for c in await page.context.cookies())
    assert '"csrf"' in session_text(session), "the session cookie could not be read: the check would prove nothing"
    assert digits not in session_text(session) and digits[:8] not in session_text(session)


async def test_the_units_overcharges_page_is_there_for_a_user(page: Page) -> None:
    await sign_in(page, USER, CENTRUM)
    await page.get_by_role("link", name="Överdebiteringar").click()
    await expect(page.get_by_role("heading", name="Överdebiteringar att återbetala")).to_be_visible()
    await accessible(page, "overcharges")


async def test_a_limited_user_is_offered_no_registration_and_a_crafted_post_is_refused_with_the_reason(
    page: Page,
) -> None:
    patient = adult_patient()
    await sign_in(page, LIMITED, CENTRUM)
    await look_up(page, patient)
    await expect(page.get_by_role("heading", name="Registrera avgift")).to_have_count(0)
    await expect(page.get_by_role("button", name="Registrera avgift")).to_have_count(0)
    await expect(page.get_by_role("link", name="Överdebiteringar")).to_have_count(0)
    await accessible(page, "limited")
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = await page.request.post(
        "/patient/fees",
        form={
            "csrf_token": token or "",
            "patient_id": patient,
            "visit_date": days_ago(1),
            "fee_type": "doctor_visit",
            "fee_amount": "300",
            "source": "visit",
        },
    )
    assert answer.status == 200
    body = await answer.text()
    assert "Tjänsten sa nej" in body and "Din roll vid enheten tillåter inte det här." in body
    assert "Traceback" not in body


async def test_a_post_without_the_csrf_token_is_refused(page: Page) -> None:
    await sign_in(page, USER, CENTRUM)
    answer = await page.request.post("/patient", form={"patient_id": adult_patient()})
    assert answer.status == 403
    assert "Formuläret kunde inte skickas" in await answer.text()


async def test_the_english_switch_changes_the_language_of_the_pages(page: Page) -> None:
    await sign_in(page, USER, CENTRUM)
    await page.get_by_role("button", name="In English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="Find patient")).to_be_visible()
    await page.get_by_label("Personal identity number or coordination number").fill("19850412-1231")
    await page.get_by_role("button", name="Search").click()
    error = page.locator("#patient_id-error")
    await expect(error).to_contain_text("The identity number is not valid")
    await expect(page.get_by_label("Personal identity number or coordination number")).to_have_attribute(
        "aria-describedby", "patient_id-hint patient_id-error"
    )
    await accessible(page, "english")
    await page.get_by_role("button", name="På svenska").click()
    await expect(page.locator("html")).to_have_attribute("lang", "sv")


async def test_the_core_flow_works_without_javascript(browser: Browser, desk: ServiceProcess) -> None:
    context = await new_context(browser, desk, javascript=False)
    try:
        page = await context.new_page()
        patient = adult_patient()
        await sign_in(page, USER, CENTRUM)
        await look_up(page, patient.replace("-", ""))
        await fill_fee(page, days_ago(3), 200)
        await page.get_by_role("button", name="Vad kostar besöket?").click()
        await expect(page.locator("#quote")).to_contain_text("Att betala: 200\u00a0kr")
        await register(page, days_ago(3), 200)
        await expect(page.locator(".outcome")).to_contain_text("Att betala: 200\u00a0kr")
        await expect(page.locator("#sum-value")).to_have_text("200\u00a0kr")
    finally:
        await context.close()
