"""The Dockerfile, docker-compose.yml and deploy/k8s agree with the code they run.

Ports are the settings' defaults, every environment variable is a settings field, probes hit routes the
app has, KEDA measures the topics the service consumes in the group it consumes them in. Settings are
built from the files' environment exactly as a container would build them, so the production validators
run too.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
import yaml
from fastapi import FastAPI
from starlette.routing import Match

from shared.service import ServiceDefinition
from shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVICE_NAMES = sorted(path.parent.name for path in (ROOT / "services").glob("*/__main__.py"))
# What an operator supplies for the compose placeholders.
OPERATOR_VALUES = {
    "CVP_API_KEYS": '{"contract-test-key": ["*"]}',
    "CVP_POSTGRES_PASSWORD": "contract-test",
    "CVP_PII_ENCRYPTION_KEY": "Y29udHJhY3QtdGVzdC1lbmNyeXB0aW9uLWtleS0zMmI",
    "CVP_PII_HASH_KEY": "Y29udHJhY3QtdGVzdC1zZWFyY2gtaGFzaC1rZXktMzI",
    "CVP_SURVEY_TOKEN_KEY": "contract-test-survey-token-key-0123456789",
    "CVP_PROFILE_API_KEY": "contract-test-profile-reader-key",
}


@dataclass(frozen=True)
class Service:
    name: str
    settings_class: type[ServiceSettings]
    definition: ServiceDefinition
    create_app: Callable[[ServiceSettings], FastAPI]

    @property
    def default_port(self) -> int:
        return self.settings_class.model_fields["port"].default

    @property
    def env_names(self) -> set[str]:
        return {field.upper() for field in self.settings_class.model_fields}

    def answers_get(self, settings: ServiceSettings, path: str) -> bool:
        """A route of the app built from `settings` (not started) fully matches `GET path`."""
        scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [], "query_string": b""}
        return any(route.matches(scope)[0] == Match.FULL for route in self.create_app(settings).routes)


@functools.cache
def service(name: str) -> Service:
    settings_module = importlib.import_module(f"services.{name}.settings")
    app_module = importlib.import_module(f"services.{name}.app")
    settings_class = next(value for value in vars(settings_module).values()
                          if isinstance(value, type) and issubclass(value, ServiceSettings)
                          and value.__module__ == settings_module.__name__)
    return Service(name, settings_class, app_module.DEFINITION, app_module.create_app)


def settings_from(svc: Service, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ServiceSettings:
    """The settings a container with exactly this environment would start with."""
    for name in svc.env_names:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return svc.settings_class()


def service_of_module(args: list[str]) -> str:
    """`services.<name>` from a container command, after checking it is a runnable module."""
    module = args[0]
    assert re.fullmatch(r"services\.\w+", module), f"{module!r} is not a service module"
    assert importlib.util.find_spec(f"{module}.__main__") is not None, f"no module {module}.__main__"
    assert args[1:] in ([], ["serve"], ["migrate"]), f"unknown command {args[1:]}"
    return module.split(".")[1]


# --- docker-compose.yml -------------------------------------------------------------------------------

@functools.cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def interpolate(value: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, operator, default = match.groups()
        if name in OPERATOR_VALUES:
            return OPERATOR_VALUES[name]
        assert operator in (":-", "-"), f"${{{name}}} has no value in this test"
        return default
    return re.sub(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", substitute, str(value))


def compose_containers(command: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Service name -> (compose name, definition) of the containers that `serve` or `migrate`."""
    found = {}
    for compose_name, spec in compose()["services"].items():
        args = spec.get("command") or []
        if args and args[0].startswith("services.") and (args[1:] or ["serve"]) == [command]:
            found[service_of_module(args)] = (compose_name, spec)
    return found


def compose_env(spec: dict[str, Any]) -> dict[str, str]:
    return {name: interpolate(value) for name, value in spec.get("environment", {}).items()}


def test_compose_serves_and_migrates_every_service():
    assert sorted(compose_containers("serve")) == SERVICE_NAMES
    assert sorted(compose_containers("migrate")) == SERVICE_NAMES


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_compose_env_names_are_settings_fields(command: str):
    for name, (compose_name, spec) in compose_containers(command).items():
        unknown = set(spec["environment"]) - service(name).env_names
        assert not unknown, f"{compose_name}: {sorted(unknown)} are not settings fields of {name}"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_compose_service_listens_on_its_settings_port(name: str, monkeypatch: pytest.MonkeyPatch):
    _, spec = compose_containers("serve")[name]
    settings = settings_from(service(name), compose_env(spec), monkeypatch)

    assert settings.port == service(name).default_port
    assert settings.host == "0.0.0.0"
    assert [str(mapping).rsplit(":", 1)[1] for mapping in spec["ports"]] == [str(settings.port)]


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_compose_env_builds_production_settings(command: str, monkeypatch: pytest.MonkeyPatch):
    for name, (_, spec) in compose_containers(command).items():
        settings = settings_from(service(name), compose_env(spec), monkeypatch)

        assert settings.environment == "production"
        assert settings.kafka_enable_idempotence
        assert urlsplit(settings.database_url).scheme == "postgresql+asyncpg"
        assert not settings.migrate_on_start, "the migrate-<service> containers own schema changes"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_compose_healthcheck_probes_the_readiness_route(name: str, monkeypatch: pytest.MonkeyPatch):
    _, spec = compose_containers("serve")[name]
    probe = " ".join(spec["healthcheck"]["test"])
    paths = re.findall(r"http://127\.0\.0\.1:[^/]+(/\w+)", probe)
    settings = settings_from(service(name), compose_env(spec), monkeypatch)

    assert paths == ["/readyz"]
    assert service(name).answers_get(settings, "/readyz")


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_compose_service_waits_for_healthy_broker_database_and_its_migration(name: str):
    compose_name, spec = compose_containers("serve")[name]
    migrate_name, _ = compose_containers("migrate")[name]

    assert spec["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
        migrate_name: {"condition": "service_completed_successfully"},
    }, compose_name


def test_compose_kafka_is_single_node_kraft_with_a_script_healthcheck():
    kafka = compose()["services"]["kafka"]
    env = kafka["environment"]
    bootstrap = {compose_env(spec)["KAFKA_BOOTSTRAP_SERVERS"] for _, spec in compose_containers("serve").values()}

    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])
    assert len(bootstrap) == 1 and bootstrap.pop() in env["KAFKA_ADVERTISED_LISTENERS"]


def test_compose_databases_are_the_ones_the_init_script_creates():
    created = set(re.findall(r"CREATE DATABASE (\w+);", (ROOT / "deploy/postgres/init.sql").read_text()))
    used = [urlsplit(compose_env(spec)["DATABASE_URL"]) for _, spec in compose_containers("serve").values()]
    postgres = compose()["services"]["postgres"]

    assert {url.path.lstrip("/") for url in used} == created
    assert len(created) == len(SERVICE_NAMES), "one database per service"
    assert {url.hostname for url in used} == {"postgres"}
    assert "./deploy/postgres/init.sql:/docker-entrypoint-initdb.d/init.sql:ro" in postgres["volumes"]


# --- Dockerfile ---------------------------------------------------------------------------------------

@functools.cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    instructions = [tuple(line.split(None, 1)) for line in lines]
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword.upper() == "FROM")
    return [(keyword.upper(), arguments) for keyword, arguments in instructions[last_from:]]


def dockerfile_values(keyword: str) -> list[str]:
    return [arguments for found, arguments in dockerfile() if found == keyword]


def test_dockerfile_exposes_every_service_port():
    exposed = {int(port) for line in dockerfile_values("EXPOSE") for port in line.split()}

    assert exposed == {service(name).default_port for name in SERVICE_NAMES}


def test_dockerfile_env_names_are_settings_fields():
    names = {assignment.split("=", 1)[0] for line in dockerfile_values("ENV") for assignment in line.split()}
    settings_names = {name for name in names if name != "PATH" and not name.startswith("PYTHON")}

    for name in SERVICE_NAMES:
        assert settings_names <= service(name).env_names


def test_dockerfile_entrypoint_runs_the_module_the_command_names():
    assert json.loads(dockerfile_values("ENTRYPOINT")[-1]) == ["python", "-m"]
    service_of_module(json.loads(dockerfile_values("CMD")[-1]))


def test_dockerfile_runs_as_the_non_root_user_kubernetes_expects():
    user = dockerfile_values("USER")[-1].split(":")[0]

    assert user not in ("root", "0")
    for document in k8s_workloads():
        assert document["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(user)


def test_docker_build_context_holds_the_packages_pyproject_installs():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    allowed = {line.strip().rstrip("/").lstrip("!") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.startswith("!")}
    build_text = (ROOT / "Dockerfile").read_text()

    assert packages | {"pyproject.toml"} <= allowed
    for package in packages:
        assert re.search(rf"^COPY {package} ", build_text, re.MULTILINE), f"{package} is not copied"
    assert re.search(r"pip install (--no-deps )?\.$", build_text, re.MULTILINE)


# --- deploy/k8s ---------------------------------------------------------------------------------------

@functools.cache
def k8s(file_name: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all((K8S / file_name).read_text()) if document]


def k8s_kind(file_name: str, kind: str) -> dict[str, dict[str, Any]]:
    return {document["metadata"]["name"]: document for document in k8s(file_name) if document["kind"] == kind}


def k8s_workloads() -> list[dict[str, Any]]:
    files = [f"{name}.yaml" for name in SERVICE_NAMES] + ["migrate-job.yaml"]
    return [document for file_name in files for document in k8s(file_name)
            if document["kind"] in ("Deployment", "Job")]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, workload["metadata"]["name"]
    return containers[0]


def k8s_env(workload: dict[str, Any]) -> dict[str, str]:
    """The environment the container gets: envFrom in order, then env (a later source wins)."""
    config_maps = {name: doc["data"] for name, doc in k8s_kind("configmap.yaml", "ConfigMap").items()}
    secrets = {name: doc["stringData"] for name, doc in k8s_kind("secret.example.yaml", "Secret").items()}
    env: dict[str, str] = {}
    for source in container(workload).get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]])
        else:
            env.update(secrets[source["secretRef"]["name"]])
    env.update({variable["name"]: variable["value"] for variable in container(workload).get("env", [])})
    return env


def deployments(name: str) -> dict[str, dict[str, Any]]:
    return k8s_kind(f"{name}.yaml", "Deployment")


def test_every_workload_runs_an_existing_service_module():
    for workload in k8s_workloads():
        service_of_module(container(workload)["args"])


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_k8s_manifest_runs_only_its_own_service(name: str):
    assert deployments(name)
    for deployment in deployments(name).values():
        assert container(deployment)["args"] == [f"services.{name}"]


def test_migrate_jobs_migrate_every_service():
    jobs = k8s_kind("migrate-job.yaml", "Job").values()

    assert sorted(container(job)["args"][0].split(".")[1] for job in jobs) == SERVICE_NAMES
    assert all(container(job)["args"][1:] == ["migrate"] for job in jobs)


def test_k8s_env_names_are_settings_fields():
    for workload in k8s_workloads():
        svc = service(container(workload)["args"][0].split(".")[1])
        unknown = set(k8s_env(workload)) - svc.env_names
        assert not unknown, f"{workload['metadata']['name']}: {sorted(unknown)} are not settings fields"


def test_k8s_env_builds_production_settings(monkeypatch: pytest.MonkeyPatch):
    for workload in k8s_workloads():
        svc = service(container(workload)["args"][0].split(".")[1])
        settings = settings_from(svc, k8s_env(workload), monkeypatch)

        assert settings.environment == "production"
        assert settings.host == "0.0.0.0"
        assert urlsplit(settings.database_url).path == f"/cvp_{svc.name}"
        assert not settings.migrate_on_start, "the migrate Jobs own schema changes"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_k8s_ports_are_the_settings_port(name: str, monkeypatch: pytest.MonkeyPatch):
    (k8s_service,) = k8s_kind(f"{name}.yaml", "Service").values()
    for deployment in deployments(name).values():
        settings = settings_from(service(name), k8s_env(deployment), monkeypatch)
        ports = {port["name"]: port["containerPort"] for port in container(deployment)["ports"]}

        assert ports == {"http": service(name).default_port} and settings.port == ports["http"]
    assert [(port["port"], port["targetPort"]) for port in k8s_service["spec"]["ports"]] == [
        (service(name).default_port, "http")]


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_k8s_probes_hit_the_apps_health_routes(name: str, monkeypatch: pytest.MonkeyPatch):
    for deployment in deployments(name).values():
        spec = container(deployment)
        settings = settings_from(service(name), k8s_env(deployment), monkeypatch)
        readiness, liveness = spec["readinessProbe"]["httpGet"], spec["livenessProbe"]["httpGet"]

        assert (readiness["path"], liveness["path"]) == ("/readyz", "/healthz")
        assert readiness["port"] == liveness["port"] == "http"
        assert service(name).answers_get(settings, readiness["path"])
        assert service(name).answers_get(settings, liveness["path"])


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_k8s_pods_have_resources_and_time_to_finish_a_batch(name: str):
    for deployment in deployments(name).values():
        resources = container(deployment)["resources"]

        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30
        assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"])
        assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"


def test_no_deployment_is_scaled_by_both_an_hpa_and_keda():
    for name in SERVICE_NAMES:
        hpa_targets = [hpa["spec"]["scaleTargetRef"]["name"]
                       for hpa in k8s_kind(f"{name}.yaml", "HorizontalPodAutoscaler").values()]
        keda_targets = [scaled["spec"]["scaleTargetRef"]["name"]
                        for scaled in k8s_kind(f"{name}.yaml", "ScaledObject").values()]

        assert sorted(hpa_targets + keda_targets) == sorted(deployments(name)), "each Deployment has one autoscaler"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_hpa_scales_the_http_tier_on_cpu(name: str, monkeypatch: pytest.MonkeyPatch):
    for hpa in k8s_kind(f"{name}.yaml", "HorizontalPodAutoscaler").values():
        target = deployments(name)[hpa["spec"]["scaleTargetRef"]["name"]]
        settings = settings_from(service(name), k8s_env(target), monkeypatch)

        assert hpa["apiVersion"] == "autoscaling/v2"
        assert {"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 70}}} in hpa["spec"]["metrics"]
        assert not (settings.consumer_enabled and service(name).definition.consumed_topics(settings)), \
            "a CPU-scaled Deployment must not join the consumer group"


def keda_consumers(name: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], ServiceSettings]]:
    """(ScaledObject, settings of the Deployment it scales) for the service."""
    found = []
    for scaled in k8s_kind(f"{name}.yaml", "ScaledObject").values():
        target = deployments(name)[scaled["spec"]["scaleTargetRef"]["name"]]
        found.append((scaled, settings_from(service(name), k8s_env(target), monkeypatch)))
    return found


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_keda_scales_every_deployment_that_consumes(name: str, monkeypatch: pytest.MonkeyPatch):
    consuming = set()
    for deployment_name, deployment in deployments(name).items():
        settings = settings_from(service(name), k8s_env(deployment), monkeypatch)
        if settings.consumer_enabled and service(name).definition.consumed_topics(settings):
            consuming.add(deployment_name)

    assert {scaled["spec"]["scaleTargetRef"]["name"] for scaled, _ in keda_consumers(name, monkeypatch)} == consuming


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_keda_triggers_cover_every_consumed_topic(name: str, monkeypatch: pytest.MonkeyPatch):
    for scaled, settings in keda_consumers(name, monkeypatch):
        topics = [trigger["metadata"]["topic"] for trigger in scaled["spec"]["triggers"] if trigger["type"] == "kafka"]

        assert sorted(topics) == service(name).definition.consumed_topics(settings)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_keda_measures_the_consumer_group_and_brokers_of_the_settings(name: str, monkeypatch: pytest.MonkeyPatch):
    for scaled, settings in keda_consumers(name, monkeypatch):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["metadata"]["consumerGroup"] == settings.consumer_group
            assert trigger["metadata"]["bootstrapServers"] == settings.kafka_bootstrap_servers


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_keda_trigger_metadata_fits_the_crd_and_the_partitions(name: str, monkeypatch: pytest.MonkeyPatch):
    for scaled, settings in keda_consumers(name, monkeypatch):
        for trigger in scaled["spec"]["triggers"]:
            metadata = trigger["metadata"]
            # The ScaledObject CRD types metadata as map[string]string: a bare 2000 is rejected.
            assert all(isinstance(value, str) for value in metadata.values()), metadata
            # The threshold is "one batch waiting per consumer": it follows CONSUMER_BATCH_SIZE.
            assert int(metadata["lagThreshold"]) == settings.consumer_batch_size
            assert metadata["offsetResetPolicy"] == "earliest", "the consumer starts new groups at the earliest offset"
        # Consumers beyond the partition count would sit idle.
        replicas = scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]
        assert 1 <= replicas[0] <= replicas[1] <= settings.kafka_topic_partitions


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_k8s_service_sends_traffic_only_to_the_http_tier(name: str):
    (k8s_service,) = k8s_kind(f"{name}.yaml", "Service").values()
    selector = k8s_service["spec"]["selector"].items()
    selected = [deployment_name for deployment_name, deployment in deployments(name).items()
                if selector <= deployment["spec"]["template"]["metadata"]["labels"].items()]

    assert selected == [hpa["spec"]["scaleTargetRef"]["name"]
                        for hpa in k8s_kind(f"{name}.yaml", "HorizontalPodAutoscaler").values()]
