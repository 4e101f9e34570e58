"""The README's table of who consumes and produces which topic is the services' own declarations."""

from __future__ import annotations

from contracts.topics import ACCESS_GRANTS, FEES, PATIENT_MEMBERSHIP
from efrikort.infra.paths import repo_root
from efrikort.topology import README_BEGIN, README_END, markdown_table, topics_of, topology


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
