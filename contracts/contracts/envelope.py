"""The envelope every internal event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.ids import time_ordered_id


class Event(BaseModel):
    """Base of every event payload.

    Consumers ignore fields they do not know, so a producer may add an optional field within
    a major version without breaking anyone; the contract tests guard the rest.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1


EventT = TypeVar("EventT", bound=Event)


class Envelope(BaseModel, Generic[EventT]):
    """Metadata that lets any event be traced, deduplicated and replayed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID = Field(description="Unique per event; consumers deduplicate on it.")
    event_type: str
    schema_version: int
    occurred_at: AwareDatetime
    producer: str = Field(description="The service that wrote the event.")
    correlation_id: str = Field(description="Follows one business request across services.")
    causation_id: str | None = Field(default=None, description="event_id of the message that caused this.")
    payload: EventT

    @model_validator(mode="after")
    def _names_its_payload(self) -> Envelope[EventT]:
        expected = (type(self.payload).event_type, type(self.payload).schema_version)
        if (self.event_type, self.schema_version) != expected:
            raise ValueError(
                f"envelope says {self.event_type} v{self.schema_version}, payload is {expected[0]} v{expected[1]}"
            )
        return self

    @classmethod
    def wrap(
        cls,
        payload: EventT,
        *,
        producer: str,
        correlation_id: str,
        causation_id: str | None = None,
    ) -> Envelope[EventT]:
        # Built without validating again: every field is made right here, and the payload is an
        # event already validated when it was made. Validation is for envelopes read off a topic.
        return envelope_for(type(payload)).model_construct(
            event_id=time_ordered_id(),
            event_type=payload.event_type,
            schema_version=payload.schema_version,
            occurred_at=datetime.now(UTC),
            producer=producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
            payload=payload,
        )


# pydantic keeps parametrized generics only weakly; a class made per event and collected again by
# the garbage collector made wrapping the most expensive step of publishing. Each event type's
# envelope class is made once and kept.
_ENVELOPES: dict[type[Event], type[Envelope[Any]]] = {}


def envelope_for(event_type: type[Event]) -> type[Envelope[Any]]:
    envelope = _ENVELOPES.get(event_type)
    if envelope is None:
        envelope = _ENVELOPES[event_type] = Envelope[event_type]  # type: ignore[valid-type]
    return envelope
