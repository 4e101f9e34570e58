"""With TLS on, the desk's person is the SITHS client certificate, read as the APIs read it: no sign-in
page, no development sign-in, and the session follows the card."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from desk.app import build
from desk.settings import DeskSettings
from runtime.tls import server_config
from tests.infra_fixtures import free_ports, uvicorn_serving
from tests.unit.runtime.test_identity import CertificateAuthority, Issued, siths_subject

ANNA = "SE2321000016-E001"
BERTIL = "SE2321000016-E002"


@contextlib.asynccontextmanager
async def desk_over_tls(folder: Path) -> AsyncIterator[tuple[str, CertificateAuthority, Issued]]:
    ca = CertificateAuthority("SITHS-test-CA", folder)
    server = ca.issue("server", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), server=True)
    [port, nobody] = free_ports(2)
    settings = DeskSettings(
        service_name="desk",
        http_port=port,
        development_mode=False,
        session_secret=SecretStr("a-secret-of-this-test"),
        tls_certificate=str(server.certificate),
        tls_private_key=str(server.key),
        tls_client_ca=str(ca.path),
        client_certificate=str(server.certificate),
        client_private_key=str(server.key),
        services_ca=str(ca.path),
        access_url=f"https://127.0.0.1:{nobody}",
    )
    async with uvicorn_serving(server_config(build(settings), settings)):
        yield f"https://127.0.0.1:{port}", ca, server


def browser_with(ca: CertificateAuthority, card: Issued) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(ca.path))
    context.load_cert_chain(str(card.certificate), str(card.key))
    return httpx.AsyncClient(verify=context, timeout=10, follow_redirects=False)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[str, CertificateAuthority, Issued]]:
    async with desk_over_tls(tmp_path) as serving:
        yield serving


async def test_the_person_is_the_card_and_there_is_no_sign_in_page(
    desk: tuple[str, CertificateAuthority, Issued],
) -> None:
    url, ca, _ = desk
    card = ca.issue("anna", siths_subject(ANNA), server=False)
    async with browser_with(ca, card) as browser:
        assert (await browser.get(f"{url}/sign-in")).headers["location"] == "/units"
        units = await browser.get(f"{url}/units")
        assert f"<strong>{ANNA}</strong>" in units.text
        assert "dev-banner" not in units.text
        assert "strict-transport-security" in units.headers
        token = units.text.split('name="csrf_token" value="')[1].split('"')[0]
        posted = await browser.post(f"{url}/sign-in", data={"hsa_id": BERTIL, "csrf_token": token})
        assert posted.status_code == 404


async def test_another_card_in_the_same_browser_is_another_person_with_a_new_session(
    desk: tuple[str, CertificateAuthority, Issued],
) -> None:
    url, ca, _ = desk
    anna = ca.issue("anna", siths_subject(ANNA), server=False)
    bertil = ca.issue("bertil", siths_subject(BERTIL), server=False)
    async with browser_with(ca, anna) as first:
        await first.get(f"{url}/units")
        cookies = first.cookies
    async with browser_with(ca, bertil) as second:
        second.cookies = cookies
        page = await second.get(f"{url}/units")
        assert f"<strong>{BERTIL}</strong>" in page.text and ANNA not in page.text
