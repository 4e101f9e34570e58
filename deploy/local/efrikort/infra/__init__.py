"""Local infrastructure (Kafka, PostgreSQL) started as plain processes, without Docker."""

from efrikort.infra.kafka import KAFKA_VERSION, KafkaServer, resolve_kafka_jars
from efrikort.infra.paths import repo_root, var_dir
from efrikort.infra.postgres import PostgresServer
from efrikort.infra.stack import InfraEndpoints, LocalInfra

__all__ = [
    "KAFKA_VERSION",
    "InfraEndpoints",
    "KafkaServer",
    "LocalInfra",
    "PostgresServer",
    "repo_root",
    "resolve_kafka_jars",
    "var_dir",
]
