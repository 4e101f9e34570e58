"""A failing statement's error names the statement, never its parameters: the error's text goes to logs
and to a dead letter's `dlq_error` header, and the parameters are patient data."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from efrikort.infra.stack import InfraEndpoints
from runtime import database
from runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration

NAME = "Anna Patientsdotter"
ADDRESS = "Storgatan 1, 123 45 Exempelstad"


async def test_a_database_error_does_not_carry_the_statements_parameters(infra: InfraEndpoints) -> None:
    engine = database.create_engine(ServiceSettings(service_name="errors", service_database_url=infra.database_url))
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as failed:
                await conn.execute(
                    text("SELECT CAST(:name AS text), CAST(:address AS text), 1 / 0"),
                    {"name": NAME, "address": ADDRESS},
                )
    finally:
        await engine.dispose()
    said = str(failed.value)
    assert "division by zero" in said
    assert NAME not in said and ADDRESS not in said
