"""The fee-type catalogue: which fees count towards the ceiling (högkostnadsgrundande).

A counting fee moves the ledger and is covered by a free card. A non-counting fee is registered
and kept, but never moves the ledger and is still due while a free card is valid.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeeType:
    code: str
    name_sv: str
    counting: bool
    """högkostnadsgrundande: counts towards the ceiling and is covered by a free card."""


FEE_TYPES: dict[str, FeeType] = {
    t.code: t
    for t in (
        FeeType("doctor_visit", "Läkarbesök", counting=True),
        FeeType("other_staff_visit", "Besök hos annan vårdpersonal", counting=True),
        FeeType("home_visit", "Hembesök", counting=True),
        FeeType("digital_visit", "Digitalt vårdmöte hos avtalad vårdgivare", counting=True),
        FeeType("ambulance_on_site", "Ambulanssjukvård på plats", counting=True),
        FeeType("receipt_other_region", "Kvitto från annan region", counting=True),
        FeeType("receipt_unconnected_provider", "Kvitto från icke ansluten avtalad vårdgivare", counting=True),
        FeeType("missed_appointment", "Uteblivet besök eller sen avbokning", counting=False),
        FeeType("certificate", "Intyg", counting=False),
        FeeType("travel_vaccination", "Resevaccination", counting=False),
        FeeType("preventive_care", "Förebyggande vård", counting=False),
        FeeType("screening", "Screening", counting=False),
        FeeType("inpatient_daily_fee", "Slutenvårdsavgift", counting=False),
        FeeType("occupational_health", "Företagshälsovård", counting=False),
        FeeType("private_without_agreement", "Privat vård utan regionavtal", counting=False),
        FeeType("record_copy", "Journalkopia", counting=False),
    )
}
