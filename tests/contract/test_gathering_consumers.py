"""Only consumers no caller waits on gather their records; the answer's path takes each as it comes.

A submission's outcome passes registration's submissions consumer, protection's fees consumer and (for a
desk's `POST /v1/fees`) registration's outcomes consumer: any wait there is the caller's. The audit
log and the notices to patients wait for no one, so their polls let the broker gather records
(`Consumer.gathers`, `runtime.polling`).
"""

from __future__ import annotations

from contracts.topics import (
    AUDIT,
    FEES,
    FREE_CARDS,
    INTERNAL_FEE_OUTCOMES,
    OVERCHARGES,
    PATIENT_STATUS,
    SYSTEM_FEE_SUBMISSIONS,
    SystemTopic,
    Topic,
)
from efrikort.services import SERVICE_PORTS
from efrikort.topology import declared_service

ON_THE_ANSWERS_PATH: set[Topic | SystemTopic] = {SYSTEM_FEE_SUBMISSIONS, FEES, INTERNAL_FEE_OUTCOMES}
WAITED_ON_BY_NO_ONE: set[Topic | SystemTopic] = {AUDIT, FREE_CARDS, OVERCHARGES, PATIENT_STATUS}


def consumers() -> list[tuple[str, Topic | SystemTopic, bool]]:
    return [
        (name, consumer.topic, consumer.gathers)
        for name in SERVICE_PORTS
        for consumer in declared_service(name).consumers
    ]


def test_no_consumer_on_the_path_of_an_answer_gathers() -> None:
    on_path = [(name, topic.name) for name, topic, gathers in consumers() if topic in ON_THE_ANSWERS_PATH]
    assert on_path, "no consumer of the answer's path was found"
    assert [
        (name, topic.name) for name, topic, gathers in consumers() if topic in ON_THE_ANSWERS_PATH and gathers
    ] == []


def test_the_audit_log_and_the_notices_gather() -> None:
    prompt = [
        (name, topic.name) for name, topic, gathers in consumers() if topic in WAITED_ON_BY_NO_ONE and not gathers
    ]
    assert prompt == []
