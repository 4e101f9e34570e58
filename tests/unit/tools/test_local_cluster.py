"""The local Kafka's size: one node as it always was, or a cluster of three whose every node gets its own
ports, data directory and node id, the static voters, and production's replication settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from efrikort.cli import service_replicas
from efrikort.infra.stack import InfraEndpoints, LocalInfra
from efrikort.services import SERVICE_PORTS


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_three_brokers_each_with_their_own_ports_directory_and_node_id(tmp_path: Path) -> None:
    infra = LocalInfra(data_dir=tmp_path, kafka_port=19092, brokers=3, environ={})
    nodes = infra.kafka.nodes

    assert [(n.port, n.controller_port) for n in nodes] == [(19092, 19093), (19094, 19095), (19096, 19097)]
    assert len({n.data_dir for n in nodes}) == 3 and all(n.data_dir.parent == tmp_path / "kafka" for n in nodes)
    assert infra.kafka.bootstrap_servers == "127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"

    nodes[1].data_dir.mkdir(parents=True)
    nodes[1]._write_properties()
    rendered = properties(nodes[1].properties_file.read_text())
    assert rendered["node.id"] == "2"
    assert rendered["controller.quorum.voters"] == "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    assert rendered["listeners"] == "SASL_SSL://127.0.0.1:19094,CONTROLLER://127.0.0.1:19095"
    for name in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert rendered[name] == "3", name
    assert rendered["min.insync.replicas"] == rendered["transaction.state.log.min.isr"] == "2"
    assert infra.endpoints.as_env()["EFRIKORT_TOPIC_REPLICATION_FACTOR"] == "3"


def test_one_node_stays_as_it_was(tmp_path: Path) -> None:
    infra = LocalInfra(data_dir=tmp_path, kafka_port=19092, environ={})
    (node,) = infra.kafka.nodes

    assert node.data_dir == tmp_path / "kafka" and (node.port, node.controller_port) == (19092, 19093)
    node._write_properties()
    rendered = properties(node.properties_file.read_text())
    assert rendered["node.id"] == "1"
    assert rendered["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert "controller.quorum.voters" not in rendered
    assert rendered["default.replication.factor"] == rendered["min.insync.replicas"] == "1"
    assert "EFRIKORT_TOPIC_REPLICATION_FACTOR" not in infra.endpoints.as_env()


def test_data_of_one_size_is_not_started_as_another(tmp_path: Path) -> None:
    (tmp_path / "kafka" / "kraft").mkdir(parents=True)
    (tmp_path / "kafka" / "kraft" / "meta.properties").write_text("node.id=1\n")

    assert len(LocalInfra(data_dir=tmp_path, environ={}).kafka.nodes) == 1  # found as it was made
    with pytest.raises(RuntimeError, match="made for 1 broker"):
        LocalInfra(data_dir=tmp_path, kafka_port=19092, brokers=3, environ={}).kafka.start()


def test_replicas_of_a_service_each_get_a_port_and_a_log_of_their_own() -> None:
    processes = service_replicas(InfraEndpoints("127.0.0.1:9092", "postgresql://x/y"), replicas=3)

    registration = [p for p in processes if p.name == "registration"]
    assert [p.port for p in registration] == [8081, 8091, 8101]
    assert len({p.log_path for p in processes}) == len(processes) == 3 * len(SERVICE_PORTS)
    assert len({p.port for p in processes}) == len(processes)
