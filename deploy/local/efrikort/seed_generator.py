"""A large region's year of fees, generated for `efrikort seed-ledger`: who the patients are, how many fees
each has (most a few, some hundreds), and every version of every fee as registration keeps it, with what
protection makes of them (charged amounts, free cards, the status last published) from protection's own
replay. Plain Python: no SQL. Reproducible from a seed; patient `index` always has the same identity number.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts.identity import with_check_digit
from contracts.ids import RANDOM_BITS, time_ordered_id
from contracts.integration import FeeSource
from protection.free_cards import IssuedCard
from protection.ledger import Checkpoint, Fee, replay
from protection.ledger_changes import patient_status, status_document
from protection.recompute import issued_card, status_on
from protection.regions import RegionSettings
from registration.fee_versions import Change, Correction, FeeVersion
from registration.registering import sender_of
from runtime.patient_key import patient_key

SUBMISSION_PREFIX = "seed-"
"""Every seeded fee's submission id starts so: `seed-<patient index>-<fee ordinal>`."""
_FIRST_BIRTH = date(1930, 1, 1)
_BIRTH_DAYS = (date(2024, 12, 31) - _FIRST_BIRTH).days + 1
_BIRTH_STRIDE = 7919
"""A prime not dividing `_BIRTH_DAYS`: consecutive patients are born far apart."""
MAX_PATIENTS = _BIRTH_DAYS * 1000
LOWEST_SEEDED_SERIAL = 900
"""Serial numbers count down from 999, one per `_BIRTH_DAYS` patients: the first 3.47 million patients
(a large region's year is 2 million) take serials 999 to 900, and a patient with a lower serial is none
that `seed-ledger` writes in a ledger that size."""
_SWEDEN = ZoneInfo("Europe/Stockholm")
_CORRECTION_SHARE = 0.04
"""Of the fee versions, this share are corrections (rättelser) of a fee registered earlier."""
_HEAVIEST = 400.0
"""The heaviest patient's weight against the lightest: a few hundred fees a year at most."""

# Fee types and tariffs (whole kronor) of a region's outpatient year, with how common each is.
_TARIFFS: dict[str, tuple[int, ...]] = {
    "doctor_visit": (200, 250, 300, 400),
    "other_staff_visit": (100, 150, 200),
    "digital_visit": (100, 150, 200),
    "home_visit": (200, 300),
    "missed_appointment": (300, 400),
    "certificate": (250, 500),
}
_TYPE_WEIGHTS = (50, 25, 12, 3, 6, 4)


@dataclass(frozen=True)
class SeedActors:
    """Who registers the seeded fees: an integrated system, and units of the region with their users."""

    system_id: str
    users_by_unit: dict[str, tuple[str, ...]]

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(self.users_by_unit)

    @classmethod
    def from_directory(cls, document: dict[str, Any], region: str) -> SeedActors:
        """The directory's units of `region` whose provider has an agreement with it, each with the employees
        holding `EFK;Användare` there, and its first certified, unsuspended system approved for the region."""
        agreed = {
            a["care_provider"] for a in document["agreements"] if a["region"] == region and not a["terminated_on"]
        }
        units = {u["hsa_id"] for u in document["care_units"] if u["region"] == region and u["care_provider"] in agreed}
        users: dict[str, list[str]] = {}
        for role in document["access_roles"]:
            if role["care_unit"] in units and role["role"] == "EFK;Användare":
                users.setdefault(role["care_unit"], []).append(role["employee"])
        systems = [
            s["hsa_id"]
            for s in document["integrated_systems"]
            if s["certified"] and not s["suspended"] and region in s["approved_regions"]
        ]
        if not users or not systems:
            raise ValueError(f"the directory has no unit with a user, or no approved system, in {region}")
        return cls(systems[0], {unit: tuple(names) for unit, names in sorted(users.items())})


def identity_number(index: int) -> str:
    """Patient `index`'s identity number: a valid (Luhn) personnummer made from the index alone, born
    1930-2024, serial numbers counted down from 999. Generated, belonging to no one known; never printed."""
    if not 0 <= index < MAX_PATIENTS:
        raise ValueError(f"patient index must be 0 to {MAX_PATIENTS - 1}")
    born = _FIRST_BIRTH + timedelta(days=(index * _BIRTH_STRIDE) % _BIRTH_DAYS)
    return with_check_digit(born.strftime("%Y%m%d") + f"{999 - index // _BIRTH_DAYS:03d}")


def fees_and_corrections(fee_versions: int) -> tuple[int, int]:
    """How many fees, and how many corrections of them, make `fee_versions` versions."""
    corrections = round(fee_versions * _CORRECTION_SHARE)
    return fee_versions - corrections, corrections


def fee_counts(patients: int, fees: int, rng: random.Random) -> list[int]:
    """Fees per patient, summing to `fees`: every patient at least one, a heavy tail (Pareto) above it."""
    if fees < patients:
        raise ValueError("every seeded patient has at least one fee: ask for at least as many fee versions")
    weights = [min(rng.paretovariate(1.3), _HEAVIEST) for _ in range(patients)]
    total, extra = sum(weights), fees - patients
    counts = [1 + int(extra * weight / total) for weight in weights]
    for index in rng.choices(range(patients), weights=weights, k=fees - sum(counts)):
        counts[index] += 1
    return counts


def correction_counts(counts: Sequence[int], corrections: int, rng: random.Random) -> list[int]:
    """Corrections per patient, summing to `corrections`: a patient with more fees has more corrected."""
    per_patient = [0] * len(counts)
    for index in rng.choices(range(len(counts)), weights=counts, k=corrections):
        per_patient[index] += 1
    return per_patient


@dataclass(frozen=True)
class Year:
    """The year being seeded: its last day, the instant it is seeded at, and who registers."""

    today: date
    now: datetime
    actors: SeedActors
    key_secret: str
    region: RegionSettings


@dataclass(frozen=True)
class PatientYear:
    """One patient's year: every version of each of their fees, oldest first."""

    index: int
    patient_key: str
    identity_number: str
    fees: list[list[FeeVersion]]

    @property
    def latest(self) -> list[FeeVersion]:
        return [versions[-1] for versions in self.fees]


def patient_year(index: int, fees: int, corrections: int, year: Year, rng: random.Random) -> PatientYear:
    """The patient's fees, at a home unit mostly, visits over the twelve months up to yesterday."""
    number = identity_number(index)
    key = patient_key(number, year.key_secret)
    born = date(int(number[:4]), int(number[4:6]), int(number[6:8]))
    home = rng.choice(year.actors.units)
    visits = sorted(year.today - timedelta(days=rng.randint(1, 365)) for _ in range(fees))
    histories = [
        [_registered(index, ordinal, key, born, visit, home if rng.random() < 0.8 else None, year, rng)]
        for ordinal, visit in enumerate(visits)
    ]
    for _ in range(corrections):
        versions = rng.choice(histories)
        versions.append(_corrected(versions[-1], year, rng))
    return PatientYear(index, key, number, histories)


def _registered(
    index: int,
    ordinal: int,
    key: str,
    born: date,
    visit: date,
    unit: str | None,
    year: Year,
    rng: random.Random,
) -> FeeVersion:
    unit = unit or rng.choice(year.actors.units)
    fee_type = rng.choices(tuple(_TARIFFS), weights=_TYPE_WEIGHTS)[0]
    local = datetime.combine(visit, time(rng.randint(7, 17), rng.randint(0, 59)), _SWEDEN)
    registered_at = min(local.astimezone(UTC), year.now - timedelta(hours=1))
    return FeeVersion(
        fee_id=time_ordered_id(registered_at, rng.getrandbits(RANDOM_BITS)),
        version=1,
        submission_id=f"{SUBMISSION_PREFIX}{index:09d}-{ordinal:04d}",
        system_id=year.actors.system_id,
        patient_key=key,
        birth_date=born,
        visit_date=visit,
        care_unit=unit,
        registered_by=rng.choice(year.actors.users_by_unit[unit]),
        fee_type=fee_type,
        fee_amount=rng.choice(_TARIFFS[fee_type]),
        paid_amount=None,
        source=FeeSource.VISIT,
        receipt_issuer=None,
        registered_at=registered_at,
    )


def _corrected(latest: FeeVersion, year: Year, rng: random.Random) -> FeeVersion:
    """Another tariff of the same fee type, by a user of the unit, within days of the version before."""
    at = min((latest.changed_at or latest.registered_at) + timedelta(hours=rng.randint(1, 72)), year.now)
    other = [amount for amount in _TARIFFS[latest.fee_type] if amount != latest.fee_amount]
    correction_by = rng.choice(year.actors.users_by_unit[latest.care_unit])
    return latest.corrected(Correction(fee_amount=rng.choice(other), reason="wrong tariff"), correction_by, at)


@dataclass(frozen=True)
class ProtectionState:
    """What protection holds of a patient once it has assessed all their fees: the amount charged for each
    fee (none carries a paid amount), the free cards issued, and the status it last published."""

    charged: dict[uuid.UUID, int]
    cards: list[IssuedCard]
    status: dict[str, Any]
    checkpoint: Checkpoint | None
    """Where the next recomputation may start (the ledger's settled part), as protection stores it."""


def protection_state(patient: PatientYear, year: Year) -> ProtectionState:
    """Protection's own replay of the patient's fees, as `recompute` makes it of a history it has never seen
    (no card issued, nothing paid: each fee charged what is due); each card issued when its ceiling was
    reached. `recompute` itself is not called: its work for cards and payments already made is none here."""
    fees = [
        Fee(
            v.fee_id,
            v.visit_date,
            v.registered_at,
            v.fee_type,
            v.fee_amount,
            v.birth_date,
            v.care_unit,
            None,
            v.version,
        )
        for v in patient.latest
    ]
    ledger = replay(fees, year.region)
    cards = [
        issued_card(card_number(patient.index, ordinal), card, _reached_at(card.valid_from, year))
        for ordinal, card in enumerate(ledger.free_cards)
    ]
    status = status_on(year.today, ledger, cards, year.region, year.now)
    return ProtectionState(
        {fee_id: assessment.amount_due for fee_id, assessment in ledger.assessments.items()},
        cards,
        status_document(patient_status(patient.patient_key, status, year.today)),
        ledger.checkpoint,
    )


def _reached_at(day: date, year: Year) -> datetime:
    return min(datetime.combine(day, time(18), _SWEDEN).astimezone(UTC), year.now)


def card_number(index: int, ordinal: int) -> str:
    """A seeded card's number: unique per patient and card, in the shape of `free_cards.new_number`."""
    return f"FK-{(index * 16 + ordinal) ^ 0x5EED00000000:012X}"


def fingerprint(version: FeeVersion, identity: str) -> str:
    """The submission's fingerprint as registration takes it (`Accepted.fingerprint`): the canonical JSON
    (sorted keys, `json.dumps`'s separators) of the submission the fee's first version was registered from.
    Written out here rather than made by the contract's model: seeding makes ten million of them."""
    text = (
        f'{{"care_unit": {_js(version.care_unit)}, "fee_amount": {version.fee_amount}, '
        f'"fee_type": {_js(version.fee_type)}, "paid_amount": {_jn(version.paid_amount)}, '
        f'"patient_id": "{identity}", "receipt_issuer": {_js(version.receipt_issuer)}, '
        f'"registered_by": {_js(version.registered_by)}, "source": "{version.source.value}", '
        f'"submission_id": {_js(version.submission_id)}, "system_id": {_js(version.system_id)}, '
        f'"visit_date": "{version.visit_date.isoformat()}"}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()


def event_json(version: FeeVersion) -> str:
    """The `FeeRegistered` (sent on the system's topic) or `FeeCorrected` the version was published as, as
    protection keeps it; written out for the same reason as `fingerprint`, and checked against the contract."""
    common = (
        f'"fee_id":"{version.fee_id}","version":{version.version},"submission_id":{_js(version.submission_id)},'
        f'"system_id":{_js(version.system_id)},"patient_key":"{version.patient_key}",'
        f'"birth_date":"{version.birth_date.isoformat()}","visit_date":"{version.visit_date.isoformat()}",'
        f'"care_unit":{_js(version.care_unit)},"registered_by":{_js(version.registered_by)},'
        f'"fee_type":{_js(version.fee_type)},"fee_amount":{version.fee_amount},"paid_amount":{_jn(version.paid_amount)},'
        f'"source":"{version.source.value}","receipt_issuer":{_js(version.receipt_issuer)},'
        f'"registered_at":"{_instant(version.registered_at)}"'
    )
    if version.change is Change.REGISTERED:
        return f'{{{common},"sent_on_system_topic":true}}'
    if version.change is Change.CORRECTED and version.changed_by is not None and version.changed_at is not None:
        return (
            f'{{{common},"corrected_by":{_js(version.changed_by)},"corrected_at":"{_instant(version.changed_at)}",'
            f'"reason":{_js(version.reason)}}}'
        )
    raise ValueError(f"seeding writes registrations and corrections only, not {version.change.value}")


@functools.lru_cache(maxsize=4096)
def _js(text: str | None) -> str:
    return json.dumps(text)


def _jn(number: int | None) -> str:
    return "null" if number is None else str(number)


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sender(version: FeeVersion) -> str:
    return sender_of(version.system_id, None)


def patients(
    first_index: int, counts: Sequence[int], corrections: Sequence[int], year: Year, rng: random.Random
) -> Iterator[PatientYear]:
    """Each patient's year in turn, from `first_index` on."""
    for offset, (fees, corrected) in enumerate(zip(counts, corrections, strict=True)):
        yield patient_year(first_index + offset, fees, corrected, year, rng)
