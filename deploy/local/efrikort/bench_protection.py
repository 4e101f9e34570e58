"""Protection's own benchmarks: recomputing one patient's history, and fee events through the service.

- `recompute_200`: the median time to recompute a history of 200 fees (pure Python, no I/O).
- `run_protection_bench`: fee events published on `efrikort.fees.v1` as registration would, spread
  over many patients (so over all 12 partitions), against a running protection service; throughput
  from the first event published to the last outcome, and each event's latency to its outcome.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from aiokafka import ConsumerRecord
from asyncpg.pgproto import pgproto

from contracts.envelope import Envelope
from contracts.events import FeeRegistered
from contracts.identity import IdentityNumber
from contracts.integration import FeeSource
from contracts.topics import FEES, INTERNAL_FEE_OUTCOMES
from efrikort.bench import BenchResult, Outgoing, send_and_collect, synthetic_patients
from protection.ledger import Fee
from protection.recompute import PatientHistory, history_after, recompute
from protection.regions import RegionSettings
from runtime.outbox import envelope_headers
from runtime.patient_key import patient_key
from runtime.settings import DEV_PATIENT_KEY_SECRET


def recompute_200(repeats: int = 500, seed: int = 1) -> float:
    """Median milliseconds to recompute (replay, cards, overcharges) a history of 200 fees over four years."""
    return recompute_history(200, repeats, seed)


def recompute_history(count: int, repeats: int = 500, seed: int = 1) -> float:
    """Median milliseconds to recompute a history of `count` fees over four years: how the cost of one
    new fee grows with the patient's history (issue 17 asks 500 fees to cost at most twice 5)."""
    rng = random.Random(seed)
    region = RegionSettings.load()
    fees = [
        # Fee ids as the store hands them over (asyncpg's UUID, whose hash is native code).
        Fee(
            pgproto.UUID(str(uuid.UUID(int=rng.getrandbits(128)))),
            date(2022, 1, 1) + timedelta(days=rng.randrange(4 * 365)),
            datetime(2022, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
            rng.choice(("doctor_visit", "other_staff_visit", "missed_appointment")),
            rng.choice((100, 200, 300, 400)),
            date(1985, 4, 12),
            "SE2321000016-U001",
            rng.choice((None, 300)),
        )
        for i in range(count)
    ]
    now = datetime.now(UTC)
    # The steady state: every fee assessed before, its charge, cards and overcharges recorded.
    first = PatientHistory(fees, [], [], {})
    history = history_after(first, recompute(first, region, now))
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        recompute(history, region, now)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def run_protection_bench(
    bootstrap: str, events: int, patients: int, rate: float | None, seed: int
) -> BenchResult:
    rng = random.Random(seed)
    people = []
    for number in synthetic_patients(patients, seed):
        parsed = IdentityNumber.parse(number)
        people.append((patient_key(parsed.digits, DEV_PATIENT_KEY_SECRET), parsed.birth_date))
    first_visit = date.today() - timedelta(days=300)

    outgoing = []
    for _ in range(events):
        key, born = rng.choice(people)
        fee = FeeRegistered(
            fee_id=uuid.uuid4(),
            version=1,
            submission_id=str(uuid.uuid4()),
            system_id="SE2321000016-BENCH",
            patient_key=key,
            birth_date=born,
            visit_date=first_visit + timedelta(days=rng.randrange(300)),
            care_unit="SE2321000016-U001",
            registered_by="SE2321000016-E001",
            fee_type="doctor_visit",
            fee_amount=rng.choice((100, 200, 300, 400)),
            paid_amount=None,
            source=FeeSource.VISIT,
            registered_at=datetime.now(UTC),
        )
        envelope = Envelope.wrap(fee, producer="bench", correlation_id=fee.submission_id)
        outgoing.append(
            Outgoing(
                FEES.name,
                key.encode(),
                envelope.model_dump_json().encode(),
                tracking_id=fee.submission_id.encode(),
                headers=[(k, v.encode()) for k, v in envelope_headers(envelope).items()],
            )
        )

    def outcome_of(record: ConsumerRecord[bytes, bytes]) -> bytes | None:
        return record.key

    return await send_and_collect(bootstrap, INTERNAL_FEE_OUTCOMES.name, outgoing, outcome_of, rate)
