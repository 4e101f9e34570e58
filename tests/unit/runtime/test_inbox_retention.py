"""A consumer group remembers a message id as long as a topic it reads may still hold the message: a
rewound group or a batch published again could deliver it once more. Then the id is forgotten, and the
inbox does not grow with every message ever taken in."""

from __future__ import annotations

from datetime import timedelta

from contracts.topics import ACCESS_GRANTS, AUDIT, FEES, PATIENT_CONTACTS, SYSTEM_FEE_SUBMISSIONS, Topic
from runtime.inbox import kept_for

WEEK = timedelta(days=7)


def test_an_id_is_remembered_for_its_topics_retention_a_segments_life_more_and_a_day() -> None:
    assert FEES.retention_ms == 7 * 24 * 3600 * 1000

    assert kept_for([("protection", FEES)]) == {"protection": WEEK + WEEK + timedelta(days=1)}


def test_an_integrated_systems_topic_counts_as_its_retention_says() -> None:
    assert kept_for([("registration", SYSTEM_FEE_SUBMISSIONS)]) == {"registration": timedelta(days=15)}


def test_a_group_of_several_topics_remembers_as_long_as_the_longest_kept_of_them() -> None:
    assert AUDIT.retention_ms == 30 * 24 * 3600 * 1000

    assert kept_for([("g", FEES), ("g", AUDIT)]) == {"g": timedelta(days=30) + WEEK + timedelta(days=1)}


def test_a_group_that_reads_a_compacted_topic_remembers_every_id() -> None:
    assert ACCESS_GRANTS.cleanup_policy == PATIENT_CONTACTS.cleanup_policy == "compact"

    assert kept_for([("notifications", FEES), ("notifications", PATIENT_CONTACTS)]) == {}
    assert kept_for([("registration-access-grants", ACCESS_GRANTS), ("protection", FEES)]) == {
        "protection": timedelta(days=15)
    }


def test_a_topic_kept_for_ever_keeps_its_groups_ids_for_ever() -> None:
    kept_for_ever = Topic("efrikort.kept.v1", partitions=1, key="k", description="d", retention_ms=-1)

    assert kept_for([("g", kept_for_ever)]) == {}
