"""The desk's doors, in process (no service behind it): the security headers, the CSRF check, the
development sign-in only in development mode, and the development session secret refused outside it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr

from desk.app import CONTENT_SECURITY_POLICY, build
from desk.settings import DeskSettings
from efrikort.infra.pki import BROKER_FILE, ensure_broker_pki
from runtime.settings import DevelopmentDefaultsRefused

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def client(**settings: object) -> TestClient:
    return TestClient(build(DeskSettings(service_name="desk", **settings)), follow_redirects=False)  # type: ignore[arg-type]


def token_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_every_answer_has_the_strict_csp_and_the_usual_headers() -> None:
    with client(development_mode=True) as desk:
        for path in ("/sign-in", "/", "/no-such-page", "/static/desk.css"):
            headers = desk.get(path).headers
            assert headers["content-security-policy"] == CSP == CONTENT_SECURITY_POLICY
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-frame-options"] == "DENY"
            assert headers["referrer-policy"] == "no-referrer"
        assert desk.get("/sign-in").headers["cache-control"] == "no-store"


def test_nobody_signed_in_is_sent_to_sign_in() -> None:
    with client(development_mode=True) as desk:
        for path in ("/", "/units", "/overcharges"):
            answer = desk.get(path)
            assert (answer.status_code, answer.headers["location"]) == (303, "/sign-in")


def test_a_post_without_the_sessions_csrf_token_is_refused() -> None:
    with client(development_mode=True) as desk:
        page = desk.get("/sign-in").text
        assert desk.post("/sign-in", data={"hsa_id": "SE2321000016-E001"}).status_code == 403
        wrong = {"hsa_id": "SE2321000016-E001", "csrf_token": "x" * 43}
        assert desk.post("/sign-in", data=wrong).status_code == 403
        assert desk.post("/sign-in", data={}, headers={"X-CSRF-Token": "nope"}).status_code == 403
        signed = desk.post("/sign-in", data={"hsa_id": "SE2321000016-E001", "csrf_token": token_of(page)})
        assert (signed.status_code, signed.headers["location"]) == (303, "/units")


def test_htmx_sends_the_token_as_a_header_and_that_passes_too() -> None:
    with client(development_mode=True) as desk:
        token = token_of(desk.get("/sign-in").text)
        signed = desk.post("/sign-in", data={"hsa_id": "SE2321000016-E001"}, headers={"X-CSRF-Token": token})
        assert (signed.status_code, signed.headers["location"]) == (303, "/units")


def test_the_csrf_token_of_one_session_does_not_pass_in_another() -> None:
    with client(development_mode=True) as first, client(development_mode=True) as second:
        token = token_of(first.get("/sign-in").text)
        second.get("/sign-in")
        assert second.post("/sign-in", data={"hsa_id": "SE2321000016-E001", "csrf_token": token}).status_code == 403


def test_the_development_sign_in_shows_its_banner_and_exists_only_in_development_mode(tmp_path: Path) -> None:
    with client(development_mode=True) as desk:
        assert 'class="dev-banner"' in desk.get("/sign-in").text
    ca = ensure_broker_pki(tmp_path)
    own = str(ca.parent / BROKER_FILE)
    production = {
        "development_mode": False,
        "session_secret": SecretStr("a-secret-of-this-deployment"),
        "client_certificate": own,
        "client_private_key": own,
        "services_ca": str(ca),
    }
    with client(**production) as desk:
        page = desk.get("/sign-in")
        assert 'class="dev-banner"' not in page.text and "SE2321000016-E001" not in page.text
        posted = desk.post("/sign-in", data={"hsa_id": "SE2321000016-E001", "csrf_token": token_of(page.text)})
        assert posted.status_code in (403, 404)
        assert desk.get("/").headers["location"] == "/sign-in"


def test_an_unknown_person_cannot_sign_in_and_the_error_names_the_field() -> None:
    with client(development_mode=True) as desk:
        token = token_of(desk.get("/sign-in").text)
        answer = desk.post("/sign-in", data={"hsa_id": "SE2321000016-E999", "csrf_token": token})
        assert answer.status_code == 422
        assert 'aria-describedby="hsa_id-error"' in answer.text and 'id="hsa_id-error"' in answer.text
        assert "E999" not in answer.text.split('id="hsa_id-error"')[1].split("</p>")[0]


def test_the_development_session_secret_is_refused_outside_development_mode() -> None:
    with pytest.raises(DevelopmentDefaultsRefused, match="EFRIKORT_DESK_SESSION_SECRET"):
        DeskSettings(development_mode=False).refuse_development_defaults()
    DeskSettings(development_mode=True).refuse_development_defaults()


def test_outside_development_mode_the_desk_needs_its_own_client_certificate() -> None:
    with pytest.raises(ValueError, match="EFRIKORT_DESK_CLIENT_CERTIFICATE"):
        DeskSettings(development_mode=False).check_identity_settings()


def test_the_language_switch_sets_the_pages_language() -> None:
    with client(development_mode=True) as desk:
        page = desk.get("/sign-in").text
        assert '<html lang="sv">' in page
        switched = desk.post("/language", data={"lang": "en", "next": "//evil.example/", "csrf_token": token_of(page)})
        assert switched.headers["location"] == "/"
        assert '<html lang="en">' in desk.get("/sign-in").text


def test_an_unexpected_failure_is_a_page_without_a_trace_and_with_the_same_headers() -> None:
    app = build(DeskSettings(service_name="desk", development_mode=True))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("19850412-1230 secret detail")

    with TestClient(app, raise_server_exceptions=False) as desk:
        answer = desk.get("/boom")
    assert answer.status_code == 500
    assert "Traceback" not in answer.text and "19850412" not in answer.text and "RuntimeError" not in answer.text
    assert answer.headers["content-security-policy"] == CSP
    assert answer.headers["cache-control"] == "no-store"


def test_the_desk_counts_and_times_its_requests_by_route_template_as_the_services_do() -> None:
    def counted(method: str, route: str, status: str) -> float:
        labels = {"method": method, "route": route, "status": status}
        return REGISTRY.get_sample_value("efrikort_http_requests_total", labels) or 0.0

    before = counted("POST", "/fees/{fee_id}", "303"), counted("GET", "/sign-in", "200")
    with client(development_mode=True) as desk:
        desk.get("/sign-in")
        # Nobody signed in: sent to sign in; counted under the route's template, never the fee's id.
        desk.post("/fees/fee-id-never-a-label", headers={"X-CSRF-Token": token_of(desk.get("/sign-in").text)})
        exposed = desk.get("/metrics").text

    assert (counted("POST", "/fees/{fee_id}", "303"), counted("GET", "/sign-in", "200")) == (
        before[0] + 1,
        before[1] + 2,
    )
    # An id of letters: a number could turn up in any sample's value or timestamp (4711 once did).
    assert "efrikort_http_request_seconds_bucket" in exposed and "fee-id-never-a-label" not in exposed
