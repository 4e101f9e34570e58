"""Protection's message handlers: record the fee, replay the ledger, publish what changed."""

from __future__ import annotations

import secrets

from contracts.events import FeeRegistered, FreeCardIssued
from contracts.integration import FeeOutcome, FreeCardStatus, FreeCardSummary, OutcomeStatus, ProtectionSummary
from contracts.topics import FEE_OUTCOMES, FREE_CARDS
from protection import store
from protection.ceilings import NATIONAL_CEILINGS
from protection.ledger import Period, replay
from runtime.consumers import Delivery
from runtime.transaction import Transaction


def new_free_card_number() -> str:
    return "FK-" + secrets.token_hex(6).upper()


def summary(period: Period | None, ceiling_today: int, card: FreeCardSummary | None) -> ProtectionSummary:
    """Where the patient stands: the period the fee falls in, or no period and the whole ceiling left."""
    if period is None:
        return ProtectionSummary(period_start=None, ceiling=ceiling_today, sum=0, remaining=ceiling_today)
    return ProtectionSummary(period_start=period.start, ceiling=period.ceiling, sum=period.total,
                             remaining=max(0, period.ceiling - period.total), free_card=card)


async def on_fee_registered(delivery: Delivery, tx: Transaction) -> None:
    fee = delivery.envelope(FeeRegistered).payload
    await store.record_fee(tx.conn, fee)
    ledger = replay(await store.patient_fees(tx.conn, fee.patient_key), NATIONAL_CEILINGS)

    card_summary = None
    period = ledger.period_on(fee.visit_date)
    if period is not None and period.free_card is not None:
        card = period.free_card
        number = await store.free_card_number(tx.conn, fee.patient_key, card.period_start)
        if number is None:
            number = new_free_card_number()
            await store.add_free_card(tx.conn, number, fee.patient_key, card.period_start, card.valid_from,
                                      card.valid_to)
            await tx.emit(FREE_CARDS, fee.patient_key, FreeCardIssued(
                patient_key=fee.patient_key, number=number, valid_from=card.valid_from, valid_to=card.valid_to,
                status=FreeCardStatus.FINAL, period_start=card.period_start, ceiling=period.ceiling,
            ))
        card_summary = FreeCardSummary(number=number, valid_from=card.valid_from, valid_to=card.valid_to,
                                       status=FreeCardStatus.FINAL)

    outcome = FeeOutcome(
        submission_id=fee.submission_id,
        status=OutcomeStatus.ACCEPTED,
        fee_id=str(fee.fee_id),
        amount_due=ledger.amount_due[fee.fee_id],
        counted_amount=ledger.counted[fee.fee_id],
        protection=summary(period, NATIONAL_CEILINGS.on(fee.visit_date), card_summary),
    )
    await tx.send(FEE_OUTCOMES, fee.submission_id, outcome.to_json())
