"""Who is calling: the HSA-ID from a verified client certificate's subject serialNumber (as SITHS
cards carry it), the header only in an explicit development mode, otherwise nobody.

The server is the real uvicorn server with the runtime's own TLS configuration, on a free port;
the certificates are made here, in a temporary folder, and never committed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from runtime import identity, problems
from runtime.identity import CurrentCaller
from runtime.settings import ServiceSettings
from runtime.tls import server_config
from tests.infra_fixtures import free_ports, uvicorn_serving

EMPLOYEE = "SE2321000016-E001"


@dataclass(frozen=True)
class Issued:
    certificate: Path
    key: Path


class CertificateAuthority:
    def __init__(self, name: str, folder: Path) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.path = folder / f"{name}.pem"
        self.path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, file: str, subject: x509.Name, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        issued = Issued(self.folder / f"{file}.pem", self.folder / f"{file}.key")
        issued.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return issued

    def revocation_list(self, file: str, revoked: Issued) -> Path:
        """The CA's CRL, naming `revoked`'s certificate, as a PEM file."""
        serial = x509.load_pem_x509_certificate(revoked.certificate.read_bytes()).serial_number
        now = datetime.now(UTC)
        crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.name)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + timedelta(days=1))
            .add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - timedelta(minutes=1))
                .build()
            )
            .sign(self.key, hashes.SHA256())
        )
        path = self.folder / f"{file}.crl.pem"
        path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return path


def siths_subject(hsa_id: str) -> x509.Name:
    """As on a SITHS card: the person's name, and the HSA-ID in serialNumber."""
    return x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Anna Andersson"), x509.NameAttribute(NameOID.SERIAL_NUMBER, hsa_id)]
    )


@dataclass(frozen=True)
class Pki:
    trusted: CertificateAuthority
    untrusted: CertificateAuthority
    server: Issued
    employee: Issued
    impostor: Issued


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    trusted = CertificateAuthority("SITHS-test-CA", folder)
    untrusted = CertificateAuthority("Someone-else-CA", folder)
    server = trusted.issue("server", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), server=True)
    return Pki(
        trusted,
        untrusted,
        server,
        trusted.issue("employee", siths_subject(EMPLOYEE), server=False),
        untrusted.issue("impostor", siths_subject(EMPLOYEE), server=False),
    )


def app_for(settings: ServiceSettings) -> FastAPI:
    """A route that needs a caller, identified as every service identifies its callers."""
    app = FastAPI()
    problems.install(app)
    app.state.identify = identity.identify_for(
        settings.trust_identity_header, settings.serves_tls, trusted_frontends=settings.trusted_frontend_ids
    )

    @app.get("/whoami")
    async def whoami(caller: CurrentCaller) -> dict[str, str]:
        return {"hsa_id": caller.hsa_id}

    return app


@pytest.fixture
async def serving(pki: Pki) -> AsyncIterator[ServiceSettings]:
    async with served(pki) as settings:
        yield settings


@contextlib.asynccontextmanager
async def served(pki: Pki, **more: Any) -> AsyncIterator[ServiceSettings]:
    [port] = free_ports(1)
    settings = ServiceSettings(
        service_name="tls-test",
        http_port=port,
        tls_certificate=str(pki.server.certificate),
        tls_private_key=str(pki.server.key),
        tls_client_ca=str(pki.trusted.path),
        **more,
    )
    async with uvicorn_serving(server_config(app_for(settings), settings)):
        yield settings


def client(pki: Pki, presented: Issued | None) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(pki.trusted.path))
    if presented is not None:
        context.load_cert_chain(str(presented.certificate), str(presented.key))
    return httpx.AsyncClient(verify=context, timeout=5)


async def test_the_hsa_id_comes_from_the_verified_certificates_subject_serial_number(
    pki: Pki, serving: ServiceSettings
) -> None:
    async with client(pki, pki.employee) as http:
        response = await http.get(
            f"https://127.0.0.1:{serving.http_port}/whoami", headers={"X-HSA-ID": "SE2321000016-SOMEONE-ELSE"}
        )
    assert response.status_code == 200
    assert response.json() == {"hsa_id": EMPLOYEE}


async def test_a_certificate_from_an_untrusted_ca_is_refused(pki: Pki, serving: ServiceSettings) -> None:
    async with client(pki, pki.impostor) as http:
        with pytest.raises(httpx.TransportError):
            response = await http.get(f"https://127.0.0.1:{serving.http_port}/whoami")
            pytest.fail(f"answered {response.status_code}")


async def test_a_connection_without_a_client_certificate_is_refused(pki: Pki, serving: ServiceSettings) -> None:
    async with client(pki, None) as http:
        with pytest.raises(httpx.TransportError):
            response = await http.get(f"https://127.0.0.1:{serving.http_port}/whoami")
            pytest.fail(f"answered {response.status_code}")


async def test_a_revoked_client_certificate_is_refused_and_the_others_of_its_ca_are_not(pki: Pki) -> None:
    leaver = pki.trusted.issue("leaver", siths_subject("SE2321000016-E777"), server=False)
    crl = pki.trusted.revocation_list("siths-test", revoked=leaver)

    async with served(pki, tls_client_crl=str(crl)) as settings:
        async with client(pki, leaver) as http:
            with pytest.raises(httpx.TransportError):
                response = await http.get(f"https://127.0.0.1:{settings.http_port}/whoami")
                pytest.fail(f"answered {response.status_code}")
        async with client(pki, pki.employee) as http:
            response = await http.get(f"https://127.0.0.1:{settings.http_port}/whoami")
        assert response.json() == {"hsa_id": EMPLOYEE}


async def ask_plain(settings: ServiceSettings, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_for(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
        return await http.get("/whoami", headers=headers)


async def test_without_tls_and_without_development_mode_a_header_identifies_nobody() -> None:
    response = await ask_plain(ServiceSettings(service_name="plain"), {"X-HSA-ID": EMPLOYEE})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_header_is_trusted_only_in_development_mode_which_warns_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = ServiceSettings(service_name="dev", trust_identity_header=True)
    assert (await ask_plain(settings, {"X-HSA-ID": EMPLOYEE})).json() == {"hsa_id": EMPLOYEE}
    with caplog.at_level(logging.WARNING):
        settings.warn_about_development_defaults()
    assert any("EFRIKORT_TRUST_IDENTITY_HEADER" in record.getMessage() for record in caplog.records)


def test_tls_without_trusted_client_cas_is_a_configuration_error(pki: Pki) -> None:
    settings = ServiceSettings(
        service_name="tls", tls_certificate=str(pki.server.certificate), tls_private_key=str(pki.server.key)
    )
    with pytest.raises(ValueError, match="EFRIKORT_TLS_CLIENT_CA"):
        server_config(app_for(settings), settings)


DESK = "SE2321000016-DESK1"
"""The desk web application's own HSA-ID, in its client certificate."""
PERSON = "SE2321000016-E002"
"""The person signed in to the desk."""


@pytest.fixture(scope="module")
def desk(pki: Pki) -> Issued:
    return pki.trusted.issue("desk", siths_subject(DESK), server=False)


async def ask_over_tls(pki: Pki, presented: Issued, headers: dict[str, str]) -> httpx.Response:
    async with served(pki, trusted_frontends=f"SE2321000016-OTHER, {DESK}") as settings, client(pki, presented) as http:
        return await http.get(f"https://127.0.0.1:{settings.http_port}/whoami", headers=headers)


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["field"] == "X-On-Behalf-Of"
    return problem


async def test_a_trusted_front_ends_certificate_speaks_for_the_person_it_names(pki: Pki, desk: Issued) -> None:
    through = {"X-On-Behalf-Of": PERSON, "X-System-ID": "SE2321000016-SYS1"}
    response = await ask_over_tls(pki, desk, through)
    assert response.status_code == 200, response.text
    assert response.json() == {"hsa_id": PERSON}


async def test_a_front_end_not_listed_may_not_speak_for_anyone(pki: Pki, desk: Issued) -> None:
    # The employee's own certificate is verified, but it is no trusted front end.
    response = await ask_over_tls(pki, pki.employee, {"X-On-Behalf-Of": PERSON})
    assert problem_of(response, 403)["code"] == "frontend_not_trusted"


async def test_a_trusted_front_end_without_the_header_does_not_act_as_itself(pki: Pki, desk: Issued) -> None:
    response = await ask_over_tls(pki, desk, {})
    assert problem_of(response, 401)["code"] == "on_behalf_of_missing"


async def test_a_malformed_person_in_the_header_is_refused_naming_the_header(pki: Pki, desk: Issued) -> None:
    response = await ask_over_tls(pki, desk, {"X-On-Behalf-Of": "19850412-1230"})
    problem = problem_of(response, 400)
    assert problem["code"] == "invalid_value" and "19850412" not in response.text


@pytest.mark.parametrize("development_mode", [False, True])
async def test_the_header_without_tls_is_refused_even_in_development_mode(development_mode: bool) -> None:
    settings = ServiceSettings(service_name="plain", trust_identity_header=development_mode, trusted_frontends=DESK)
    response = await ask_plain(settings, {"X-HSA-ID": DESK, "X-On-Behalf-Of": PERSON})
    assert problem_of(response, 401)["code"] == "on_behalf_of_without_certificate"


def test_a_service_is_served_by_uvicorns_c_parser_with_tls_and_without(pki: Pki) -> None:
    # h11, uvicorn's pure-Python parser, is what it falls back to: 0.9 ms of CPU for GET /health against 0.6
    # (docs/performance/http-parser/ab.txt).
    [port] = free_ports(1)
    plain = ServiceSettings(service_name="parser-test", http_port=port)
    with_tls = plain.model_copy(
        update={
            "tls_certificate": str(pki.server.certificate),
            "tls_private_key": str(pki.server.key),
            "tls_client_ca": str(pki.trusted.path),
        }
    )
    for settings in (plain, with_tls):
        config = server_config(FastAPI(), settings)
        config.load()
        assert issubclass(config.http_protocol_class, HttpToolsProtocol), settings.serves_tls
