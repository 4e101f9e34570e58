"""The README's table of who consumes and produces which topic is the services' own declarations."""

from __future__ import annotations

from contracts.topics import (
    ACCESS_GRANTS,
    CATALOGUE,
    FEES,
    FREE_CARDS,
    NOTICES,
    OVERCHARGES,
    PATIENT_CONTACTS,
    PATIENT_MEMBERSHIP,
    PATIENT_STATUS,
)
from efrikort.infra.paths import repo_root
from efrikort.topology import README_BEGIN, README_END, markdown_table, topics_of, topology
from runtime.membership import compacted_patient_topics, skips_exited_patients


def test_the_readme_shows_the_topology_the_services_declare() -> None:
    readme = (repo_root() / "README.md").read_text()
    assert README_BEGIN in readme and README_END in readme, "the README has lost its topology table"
    shown = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0].strip()
    assert shown == markdown_table(topology()), "README topology is stale: paste `./efrikort topology` into it"


def test_only_registration_produces_fee_events_and_only_access_grants_and_membership() -> None:
    services = topology()
    assert [s.service for s in services if FEES in s.produces] == ["registration"]
    assert [s.service for s in services if ACCESS_GRANTS in s.produces] == ["access"]
    assert [s.service for s in services if PATIENT_MEMBERSHIP in s.produces] == ["access"]


def test_every_service_obeys_patient_exit() -> None:
    for name in ("registration", "protection", "access", "notifications"):
        assert PATIENT_MEMBERSHIP in topics_of(name).consumes, name


def test_on_exit_each_compacted_patient_topic_is_tombstoned_by_the_one_service_that_produces_it() -> None:
    tombstoned = {s.service: compacted_patient_topics(s.produces) for s in topology()}
    assert tombstoned == {
        "registration": (),
        "protection": (PATIENT_STATUS,),
        "access": (),
        "notifications": (PATIENT_CONTACTS,),
    }


def test_every_patient_topic_but_the_audit_log_and_membership_skips_the_events_of_patients_who_left() -> None:
    assert {t.name for t in CATALOGUE if skips_exited_patients(t)} == {
        FEES.name,
        FREE_CARDS.name,
        OVERCHARGES.name,
        PATIENT_STATUS.name,
        PATIENT_CONTACTS.name,
        NOTICES.name,
    }
