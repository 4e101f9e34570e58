"""The Helm chart (deploy/helm/efrikort): it lints, it renders with the default and a production-like
values file, every object it renders is valid against its schema (Kubernetes' own from the
`kubernetes-validate` package; Strimzi's, KEDA's and CloudNativePG's from their CRDs vendored under
deploy/helm/crds-for-validation, checked strictly: a field the CRD does not know is an error, as the
API server's strict field validation makes it), and what it says about Kafka is what the code declares.

Helm comes from `deploy/helm/install-helm` (built from the Go module proxy into var/cache/tools/bin).
Without it these tests are skipped, except where EFRIKORT_REQUIRE_HELM is set (.ci/run sets it).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from contracts.topics import SYSTEM_TOPIC_PREFIX
from efrikort import helm_values
from efrikort.kafka_principals import service_acls
from efrikort.topology import ServiceTopics
from efrikort.topology import topology as declared_topology

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "efrikort"
PRODUCTION = ROOT / "deploy" / "helm" / "examples" / "production.yaml"
CRDS = ROOT / "deploy" / "helm" / "crds-for-validation"
KUBERNETES_VERSION = "1.33.0"
SERVICES = {"registration": 8081, "protection": 8082, "access": 8083, "notifications": 8084, "desk": 8080}
WITH_KAFKA = ["registration", "protection", "access", "notifications"]
RELEASE = "efrikort"

# What a values file for `secrets.create` must give; rendered as a third variant.
CREATED_SECRETS = ["--set", "secrets.create=true", "--set", "secrets.patientKeySecret=p", "--set"]
CREATED_SECRETS += ["secrets.webhookSecret=w", "--set", "secrets.sessionSecret=s"]


@cache
def topology() -> tuple[ServiceTopics, ...]:
    """The services' declarations, read once (each read builds every service)."""
    return tuple(declared_topology())


@cache
def lag_triggers(service: str) -> list[helm_values.LagTrigger]:
    return helm_values.lag_triggers(service)


def helm() -> str:
    for candidate in (ROOT / "var" / "cache" / "tools" / "bin" / "helm", shutil.which("helm")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    if os.environ.get("EFRIKORT_REQUIRE_HELM"):
        pytest.fail("helm is missing: deploy/helm/install-helm builds it")
    pytest.skip("helm is not installed here: deploy/helm/install-helm builds it (.ci/run does)")


@cache
def render(*args: str) -> tuple[dict[str, Any], ...]:
    result = subprocess.run(
        [
            helm(),
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            "efrikort",
            "--kube-version",
            KUBERNETES_VERSION,
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


VARIANTS = {
    "default": (),
    "production": ("--values", str(PRODUCTION)),
    "created-secrets": tuple(CREATED_SECRETS),
}


@pytest.fixture(params=list(VARIANTS), scope="module")
def objects(request: pytest.FixtureRequest) -> tuple[dict[str, Any], ...]:
    return render(*VARIANTS[request.param])


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in objects if doc["kind"] == kind}


# --- the generated topology ---------------------------------------------------------------------


def test_the_committed_kafka_topology_is_what_the_code_declares() -> None:
    committed = (ROOT / helm_values.TOPOLOGY_FILE).read_text()
    assert committed == helm_values.rendered(), "stale: run ./efrikort helm-values and commit the file"


# --- lint and schemas -----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_helm_lint(variant: str) -> None:
    result = subprocess.run(
        [helm(), "lint", "--strict", "--kube-version", KUBERNETES_VERSION, str(CHART), *VARIANTS[variant]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> the CRD's schema of that version, made strict."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            api_version = f"{crd['spec']['group']}/{version['name']}"
            schemas[(api_version, crd["spec"]["names"]["kind"])] = strict(version["schema"]["openAPIV3Schema"])
    return schemas


@cache
def crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """One validator per kind, its (large) schema checked once."""
    schema = crd_schemas().get((api_version, kind))
    if schema is None:
        return None
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    return validator_class(schema)


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every object closed to fields it does not name (unless it keeps unknown fields)."""
    schema = copy.deepcopy(schema)
    for node in walk(schema):
        open_ended = "additionalProperties" in node or node.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in node and not open_ended:
            node["additionalProperties"] = False
    # metadata is the API server's, not the CRD's to describe.
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def walk(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_every_rendered_object_is_valid(objects: tuple[dict[str, Any], ...]) -> None:
    problems = []
    for doc in objects:
        where = f"{doc['kind']} {doc['metadata']['name']}"
        validator = crd_validator(doc["apiVersion"], doc["kind"])
        try:
            if validator is not None:
                validator.validate(doc)
            elif doc["apiVersion"].count(".") and "k8s.io" not in doc["apiVersion"]:
                problems.append(f"{where}: no schema vendored for {doc['apiVersion']}")
            else:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as error:
            problems.append(f"{where}: {getattr(error, 'message', error)} at {list(getattr(error, 'path', []))}")
    assert not problems, "\n".join(problems)


def test_every_custom_resource_the_chart_renders_has_its_schema_vendored() -> None:
    kinds = {(doc["apiVersion"], doc["kind"]) for doc in render(*VARIANTS["production"])}
    custom = {kind for kind in kinds if kind[0].split("/")[0].endswith((".strimzi.io", "keda.sh", ".cnpg.io"))}
    assert custom == custom & set(crd_schemas())
    assert {kind for _, kind in custom} == {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "ScaledObject",
        "TriggerAuthentication",
        "Cluster",
        "Database",
    }


def test_a_misspelt_field_of_a_custom_resource_is_refused() -> None:
    """The strict CRD check is not vacuous: the Kafka resource with one field misspelt fails it."""
    kafka = copy.deepcopy(of_kind(render(), "Kafka")["efrikort-kafka"])
    kafka["spec"]["kafka"]["autorization"] = kafka["spec"]["kafka"].pop("authorization")
    with pytest.raises(jsonschema.ValidationError, match="autorization"):
        jsonschema.validate(kafka, crd_schemas()[("kafka.strimzi.io/v1", "Kafka")])


# --- the services -----------------------------------------------------------------------------------


def test_a_deployment_service_and_disruption_budget_per_service(objects: tuple[dict[str, Any], ...]) -> None:
    deployments, services = of_kind(objects, "Deployment"), of_kind(objects, "Service")
    budgets = of_kind(objects, "PodDisruptionBudget")
    for name, port in SERVICES.items():
        full = f"{RELEASE}-{name}"
        container = deployments[full]["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == [name]
        assert container["ports"][0]["containerPort"] == port
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert deployments[full]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert services[full]["spec"]["ports"][0]["port"] == port
        assert budgets[full]["spec"]["minAvailable"] == 1


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_credentials_come_from_secrets(objects: tuple[dict[str, Any], ...]) -> None:
    """No password or secret is a literal in a pod's environment: each is a reference to a Secret."""
    deployments = of_kind(objects, "Deployment")
    for name in WITH_KAFKA:
        env = env_of(deployments[f"{RELEASE}-{name}"])
        assert env["EFRIKORT_KAFKA_SASL_USERNAME"]["value"] == name
        assert env["EFRIKORT_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": name, "key": "password"}
        assert env["EFRIKORT_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"{RELEASE}-db-{name}"
        assert "$(EFRIKORT_DB_PASSWORD)" in env["EFRIKORT_SERVICE_DATABASE_URL"]["value"]
        assert "valueFrom" in env["EFRIKORT_PATIENT_KEY_SECRET"]
    assert "valueFrom" in env_of(deployments[f"{RELEASE}-desk"])["EFRIKORT_DESK_SESSION_SECRET"]
    for deployment in deployments.values():
        for variable, entry in env_of(deployment).items():
            if any(word in variable for word in ("PASSWORD", "SECRET")):
                assert "value" not in entry, variable


def test_each_service_scales_on_its_consumer_lag_with_its_own_login(objects: tuple[dict[str, Any], ...]) -> None:
    scaled, auths = of_kind(objects, "ScaledObject"), of_kind(objects, "TriggerAuthentication")
    for name in WITH_KAFKA:
        triggers = scaled[f"{RELEASE}-{name}"]["spec"]["triggers"]
        expected = [(t.group, t.topic) for t in lag_triggers(name)]
        assert [(t["metadata"]["consumerGroup"], t["metadata"].get("topic")) for t in triggers] == expected
        assert {t["type"] for t in triggers} == {"kafka"}
        auth = auths[triggers[0]["authenticationRef"]["name"]]["spec"]["secretTargetRef"]
        assert {ref["parameter"] for ref in auth} == {"sasl", "tls", "username", "password", "ca"}
    assert scaled[f"{RELEASE}-registration"]["spec"]["triggers"][0]["metadata"]["consumerGroup"] == "registration"
    assert f"{RELEASE}-desk" in of_kind(objects, "HorizontalPodAutoscaler")


# --- network policies -----------------------------------------------------------------------------


def peers_of(rule: dict[str, Any]) -> list[dict[str, Any]]:
    return rule.get("from") or rule.get("to") or []


def selects(peer: dict[str, Any], name: str) -> bool:
    return peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == name


def test_network_policies_deny_by_default_and_allow_only_what_is_needed(objects: tuple[dict[str, Any], ...]) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    deny = policies[f"{RELEASE}-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny
    for name, port in SERVICES.items():
        spec = policies[f"{RELEASE}-{name}"]["spec"]
        assert all(p["port"] == port for rule in spec["ingress"] for p in rule["ports"])
        from_desk = any(selects(peer, "desk") for rule in spec["ingress"] for peer in peers_of(rule))
        assert from_desk == (name != "desk"), f"{name}: only the services are reached by the desk"
        egress_ports = {p["port"] for rule in spec["egress"] for p in rule.get("ports", [])}
        if name == "desk":
            assert egress_ports == {8081, 8082, 8083, 8084}, "the desk reaches the services and nothing else"
        else:
            assert {9093, 5432} <= egress_ports
    outside = {p["port"] for r in policies[f"{RELEASE}-notifications"]["spec"]["egress"] for p in r["ports"]}
    assert outside - {9093, 5432}, "notifications reach the mail relay and the mailboxes"
    for name in ("registration", "protection", "access"):
        assert {p["port"] for r in policies[f"{RELEASE}-{name}"]["spec"]["egress"] for p in r["ports"]} == {
            9093,
            5432,
        }
    database = policies[f"{RELEASE}-postgres"]["spec"]["ingress"][0]
    assert {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in peers_of(database)} == set(
        WITH_KAFKA
    )


# --- Kafka and PostgreSQL -------------------------------------------------------------------------


def test_kafka_is_three_brokers_with_replication_three_and_logins_over_tls(objects: tuple[dict[str, Any], ...]) -> None:
    kafka = of_kind(objects, "Kafka")["efrikort-kafka"]["spec"]["kafka"]
    pools = of_kind(objects, "KafkaNodePool")
    assert pools["brokers"]["spec"]["replicas"] == 3 and pools["brokers"]["spec"]["roles"] == ["broker"]
    assert pools["controllers"]["spec"]["roles"] == ["controller"]
    assert kafka["config"]["default.replication.factor"] == 3 and kafka["config"]["min.insync.replicas"] == 2
    assert kafka["config"]["allow.everyone.if.no.acl.found"] is False
    assert kafka["authorization"] == {"type": "simple"}
    (listener,) = kafka["listeners"]
    assert listener["tls"] is True and listener["authentication"] == {"type": "scram-sha-512"}


def test_a_kafka_topic_per_catalogued_topic(objects: tuple[dict[str, Any], ...]) -> None:
    topics = of_kind(objects, "KafkaTopic")
    wanted = helm_values.managed_topics(list(topology()))
    assert set(topics) == {topic.name for topic in wanted}
    for topic in wanted:
        spec = topics[topic.name]["spec"]
        assert (spec["partitions"], spec["replicas"]) == (topic.partitions, 3)
        assert spec["config"]["min.insync.replicas"] == "2"
        assert spec["config"]["cleanup.policy"] == topic.cleanup_policy
    assert not any(name.startswith(SYSTEM_TOPIC_PREFIX) for name in topics), "access makes the systems' topics"


def test_each_service_is_a_kafka_user_with_exactly_its_acls(objects: tuple[dict[str, Any], ...]) -> None:
    users = of_kind(objects, "KafkaUser")
    assert set(users) == set(WITH_KAFKA)
    for service in topology():
        spec = users[service.service]["spec"]
        assert spec["authentication"] == {"type": "scram-sha-512"}
        rendered = [
            {"resource": acl["resource"], "operations": acl["operations"]} for acl in spec["authorization"]["acls"]
        ]
        assert rendered == helm_values.strimzi_acls(service_acls(service))
        granted = {
            (acl["resource"].get("name"), op) for acl in spec["authorization"]["acls"] for op in acl["operations"]
        }
        for topic in service.produces:
            if not topic.name.startswith(SYSTEM_TOPIC_PREFIX):
                assert (topic.name, "Write") in granted, f"{service.service} writes {topic.name}"
        for topic in service.consumes:
            if not topic.name.startswith(SYSTEM_TOPIC_PREFIX):
                assert (topic.name, "Read") in granted, f"{service.service} reads {topic.name}"
    assert {acl["resource"]["type"] for acl in users["access"]["spec"]["authorization"]["acls"]} >= {"cluster"}
    assert not any(
        acl["resource"]["type"] == "cluster"
        for u in ("registration", "protection", "notifications")
        for acl in users[u]["spec"]["authorization"]["acls"]
    ), "only access alters the cluster's ACLs"


def test_postgres_has_a_role_and_a_schema_per_service(objects: tuple[dict[str, Any], ...]) -> None:
    cluster = of_kind(objects, "Cluster")["efrikort-db"]["spec"]
    roles = {role["name"]: role for role in cluster["managed"]["roles"]}
    assert set(roles) == {f"efrikort_{name}" for name in WITH_KAFKA}
    assert all(role["passwordSecret"]["name"] == f"{RELEASE}-db-{role['name'][9:]}" for role in roles.values())
    schemas = of_kind(objects, "Database")["efrikort-db-efrikort"]["spec"]["schemas"]
    assert {(s["name"], s["owner"]) for s in schemas} == {(name, f"efrikort_{name}") for name in WITH_KAFKA}
    secrets = of_kind(objects, "Secret")
    for name in WITH_KAFKA:
        assert secrets[f"{RELEASE}-db-{name}"]["type"] == "kubernetes.io/basic-auth"
