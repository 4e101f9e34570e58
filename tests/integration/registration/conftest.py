"""Registration's schema and role of a test's own, with a unit of work on it (no service runs), and the
submissions its outcomes are kept under."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

import registration as registration_package
from efrikort.infra.stack import InfraEndpoints
from registration.settings import RegistrationSettings
from runtime.transaction import UnitOfWork
from tests.integration.conftest import service_work


@pytest.fixture
async def work(infra: InfraEndpoints) -> AsyncIterator[UnitOfWork]:
    async with service_work(infra, RegistrationSettings, registration_package, producer="registration") as made:
        yield made


async def registered_fee(work: UnitOfWork, sender: str, submission_id: str) -> uuid.UUID:
    """A submission registration has claimed, with the id of its fee: what protection's outcome names."""
    fee_id = uuid.uuid4()
    async with work.begin() as tx:
        await tx.conn.execute(
            text(
                "INSERT INTO submissions (sender, submission_id, fingerprint, fee_id, patient_key) "
                "VALUES (:sender, :submission_id, 'fingerprint', :fee_id, 'patient-key')"
            ),
            {"sender": sender, "submission_id": submission_id, "fee_id": fee_id},
        )
    return fee_id
