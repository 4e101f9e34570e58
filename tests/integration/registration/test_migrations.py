"""Registration's schema migrations on data made before them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from efrikort.infra.stack import InfraEndpoints
from runtime.settings import async_driver_url

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[3] / "services" / "registration" / "registration" / "migrations"


async def test_submissions_and_outcomes_made_before_senders_are_given_to_their_system(infra: InfraEndpoints) -> None:
    schema = f"registration_migration_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(
        async_driver_url(infra.database_url), connect_args={"server_settings": {"search_path": schema}}
    )
    first_fee, second_fee = uuid.uuid4(), uuid.uuid4()

    def upgrade(connection: Connection, revision: str) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes.update(schema=schema, connection=connection)
        command.upgrade(config, revision)

    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"CREATE SCHEMA {schema}"))
            await conn.run_sync(upgrade, "0004")
            # Two systems used one submission id; the one outcome kept is the second's, and a rejection.
            await conn.execute(
                text(
                    "INSERT INTO submissions (system_id, submission_id, fingerprint, fee_id, patient_key) VALUES "
                    "('SYS1', 'same', 'f1', :first, 'k1'), ('SYS2', 'same', 'f2', :second, 'k2')"
                ),
                {"first": first_fee, "second": second_fee},
            )
            accepted = json.dumps({"submission_id": "same", "status": "accepted", "fee_id": str(second_fee)})
            rejected = json.dumps({"submission_id": "refused", "status": "rejected", "reasons": []})
            await conn.execute(
                text(
                    "INSERT INTO outcomes (submission_id, status, outcome, patient_key) VALUES "
                    "('same', 'accepted', :accepted, 'k2'), ('refused', 'rejected', :rejected, NULL)"
                ),
                {"accepted": accepted.encode(), "rejected": rejected.encode()},
            )
            await conn.run_sync(upgrade, "head")
            submissions = (await conn.execute(text("SELECT sender, fee_id FROM submissions ORDER BY sender"))).all()
            outcomes = (await conn.execute(text("SELECT sender, submission_id, status FROM outcomes"))).all()
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()

    assert [tuple(row) for row in submissions] == [("system/SYS1", first_fee), ("system/SYS2", second_fee)]
    # The rejection names no fee, so whose it was cannot be told: it is not kept for anyone.
    assert [tuple(row) for row in outcomes] == [("system/SYS2", "same", "accepted")]
