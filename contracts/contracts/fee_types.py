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
    name_en: str = ""
    """The name in English, for the desk's English pages."""


FEE_TYPES: dict[str, FeeType] = {
    t.code: t
    for t in (
        FeeType("doctor_visit", "Läkarbesök", counting=True, name_en="Doctor's visit"),
        FeeType(
            "other_staff_visit", "Besök hos annan vårdpersonal", counting=True, name_en="Visit to other care staff"
        ),
        FeeType("home_visit", "Hembesök", counting=True, name_en="Home visit"),
        FeeType(
            "digital_visit",
            "Digitalt vårdmöte hos avtalad vårdgivare",
            counting=True,
            name_en="Digital visit with a contracted provider",
        ),
        FeeType("ambulance_on_site", "Ambulanssjukvård på plats", counting=True, name_en="Ambulance care on site"),
        FeeType(
            "receipt_other_region", "Kvitto från annan region", counting=True, name_en="Receipt from another region"
        ),
        FeeType(
            "receipt_unconnected_provider",
            "Kvitto från icke ansluten avtalad vårdgivare",
            counting=True,
            name_en="Receipt from a contracted provider not connected",
        ),
        FeeType(
            "missed_appointment",
            "Uteblivet besök eller sen avbokning",
            counting=False,
            name_en="Missed appointment or late cancellation",
        ),
        FeeType("certificate", "Intyg", counting=False, name_en="Certificate"),
        FeeType("travel_vaccination", "Resevaccination", counting=False, name_en="Travel vaccination"),
        FeeType("preventive_care", "Förebyggande vård", counting=False, name_en="Preventive care"),
        FeeType("screening", "Screening", counting=False, name_en="Screening"),
        FeeType("inpatient_daily_fee", "Slutenvårdsavgift", counting=False, name_en="Inpatient daily fee"),
        FeeType("occupational_health", "Företagshälsovård", counting=False, name_en="Occupational health care"),
        FeeType(
            "private_without_agreement",
            "Privat vård utan regionavtal",
            counting=False,
            name_en="Private care without a regional agreement",
        ),
        FeeType("record_copy", "Journalkopia", counting=False, name_en="Copy of records"),
    )
}
