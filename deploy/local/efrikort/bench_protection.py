"""Protection's own benchmarks: recomputing one patient's history, and fee events through the service.

- `recompute_200`: the median time to recompute a history of 200 fees (pure Python, no I/O).
- `new_fee_recompute`: what one new fee costs to recompute for a patient with n fees, from the ledger's
  checkpoint and in full; `run_new_fee_bench` the same end to end through a running protection.
- `run_protection_bench`: fee events published on `efrikort.fees.v1` as registration would, spread
  over many patients (so over all 12 partitions), against a running protection service; throughput
  from the first event published to the last outcome, and each event's latency to its outcome.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from aiokafka import ConsumerRecord
from asyncpg.pgproto import pgproto

from contracts.envelope import Envelope
from contracts.events import FeeRegistered
from contracts.identity import IdentityNumber
from contracts.integration import FeeSource
from contracts.topics import FEES, INTERNAL_FEE_OUTCOMES
from efrikort.bench import BenchResult, Outgoing, send_and_collect, synthetic_patients
from protection.ledger import Fee, replay_order
from protection.recompute import PatientHistory, history_after, recompute
from protection.regions import RegionSettings
from runtime.outbox import envelope_headers
from runtime.patient_key import patient_key
from runtime.settings import DEV_PATIENT_KEY_SECRET


def recompute_200(repeats: int = 500, seed: int = 1) -> float:
    """Median milliseconds to recompute (replay, cards, overcharges) a history of 200 fees over four years."""
    return recompute_history(200, repeats, seed)


def recompute_history(count: int, repeats: int = 500, seed: int = 1) -> float:
    """Median milliseconds to recompute a history of `count` fees over four years, all of it replayed."""
    region = RegionSettings.load()
    history = steady_history(count, seed, region)
    return median_ms(lambda: recompute(history, region, _NOW), repeats)


def new_fee_recompute(count: int, repeats: int = 500, seed: int = 1) -> tuple[float, float]:
    """Median milliseconds to recompute a patient with `count` fees after one new fee (the latest visit):
    from the ledger's checkpoint on, as protection does (issue 17), and replaying the whole history."""
    region = RegionSettings.load()
    history = steady_history(count, seed, region)
    new = Fee(pgproto.UUID(str(uuid.uuid4())), date(2026, 1, 15), _NOW, "doctor_visit", 300, date(1985, 4, 12))
    start = recompute(history, region, _NOW).ledger.checkpoint
    after = start.after if start is not None else None
    # What the store reads from the checkpoint on: the fees, overcharges and undercharges after it.
    tail_ids = {f.fee_id for f in history.fees if after is None or replay_order(f) > after}
    tail = PatientHistory(
        [*(f for f in history.fees if f.fee_id in tail_ids), new],
        history.issued_cards,
        [o for o in history.overcharges if o.fee_id in tail_ids],
        {fee_id: short for fee_id, short in history.undercharges.items() if fee_id in tail_ids},
        start,
    )
    full = PatientHistory([*history.fees, new], history.issued_cards, history.overcharges, history.undercharges)
    return median_ms(lambda: recompute(tail, region, _NOW), repeats), median_ms(
        lambda: recompute(full, region, _NOW), repeats
    )


_NOW = datetime(2026, 1, 20, tzinfo=UTC)


def steady_history(count: int, seed: int, region: RegionSettings) -> PatientHistory:
    """`count` fees over four years from 2022, every one assessed before: charges, cards and overcharges
    recorded (the steady state a new fee meets)."""
    rng = random.Random(seed)
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
    first = PatientHistory(fees, [], [], {})
    return history_after(first, recompute(first, region, _NOW))


def median_ms(work: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def run_new_fee_bench(bootstrap: str, sizes: Sequence[int], samples: int, seed: int = 1) -> dict[int, float]:
    """End to end through a running protection: for a new patient per size, `size` fees over four years
    are registered (and answered); then `samples` new fees are sent one at a time (4 a second, each
    handled alone) and each is timed to its outcome. The median milliseconds per size."""
    today = date.today()
    medians: dict[int, float] = {}
    for size, number in zip(sizes, synthetic_patients(len(sizes), seed), strict=True):
        parsed = IdentityNumber.parse(number)
        key = patient_key(parsed.digits, DEV_PATIENT_KEY_SECRET)
        days = 4 * 365
        history = [
            fee_event(key, parsed.birth_date, today - timedelta(days=days - i * days // size), 300) for i in range(size)
        ]
        await send_and_collect(bootstrap, INTERNAL_FEE_OUTCOMES.name, history, _outcome_key)
        new = [fee_event(key, parsed.birth_date, today - timedelta(days=1), 300) for _ in range(samples)]
        result = await send_and_collect(bootstrap, INTERNAL_FEE_OUTCOMES.name, new, _outcome_key, rate=4)
        medians[size] = statistics.median(result.latencies_ms)
    return medians


def _outcome_key(record: ConsumerRecord[bytes, bytes]) -> bytes | None:
    return record.key


def fee_event(key: str, born: date, visit: date, amount: int) -> Outgoing:
    """A fee registered on `efrikort.fees.v1` as registration publishes it."""
    fee = FeeRegistered(
        fee_id=uuid.uuid4(),
        version=1,
        submission_id=str(uuid.uuid4()),
        system_id="SE2321000016-BENCH",
        patient_key=key,
        birth_date=born,
        visit_date=visit,
        care_unit="SE2321000016-U001",
        registered_by="SE2321000016-E001",
        fee_type="doctor_visit",
        fee_amount=amount,
        paid_amount=None,
        source=FeeSource.VISIT,
        registered_at=datetime.now(UTC),
    )
    envelope = Envelope.wrap(fee, producer="bench", correlation_id=fee.submission_id)
    return Outgoing(
        FEES.name,
        key.encode(),
        envelope.model_dump_json().encode(),
        tracking_id=fee.submission_id.encode(),
        headers=[(k, v.encode()) for k, v in envelope_headers(envelope).items()],
    )


async def run_protection_bench(
    bootstrap: str, events: int, patients: int, rate: float | None, seed: int
) -> BenchResult:
    rng = random.Random(seed)
    people = []
    for number in synthetic_patients(patients, seed):
        parsed = IdentityNumber.parse(number)
        people.append((patient_key(parsed.digits, DEV_PATIENT_KEY_SECRET), parsed.birth_date))
    first_visit = date.today() - timedelta(days=300)
    amounts = (100, 200, 300, 400)

    outgoing = []
    for _ in range(events):
        key, born = rng.choice(people)
        outgoing.append(fee_event(key, born, first_visit + timedelta(days=rng.randrange(300)), rng.choice(amounts)))

    return await send_and_collect(bootstrap, INTERNAL_FEE_OUTCOMES.name, outgoing, _outcome_key, rate)
