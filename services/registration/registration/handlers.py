"""Registration's message handlers: thin, they call the registration path and nothing else."""

from __future__ import annotations

from registration.intake import Rejected
from registration.register import register_submission
from runtime.consumers import Delivery, Handler, InvalidMessage
from runtime.transaction import Transaction


def on_fee_submission(key_secret: str) -> Handler:
    """The submissions handler, bound to the secret of the patient key."""

    async def handle(delivery: Delivery, tx: Transaction) -> None:
        result = await register_submission(tx, delivery.value, key_secret)
        if isinstance(result, Rejected) and result.submission_id is None:
            # Without a submission id no outcome can be keyed to the sender: keep it in the DLQ.
            raise InvalidMessage("; ".join(f"{r.code}: {r.message}" for r in result.reasons))

    return handle
