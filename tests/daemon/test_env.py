"""Environment resolution (vk-library.md 3, behaviours 20-24)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from cvk.pod.env import EnvError, expand, resolve_pod_env, service_env
from tests.daemon.fakes import pod


class Reader:
    def __init__(self) -> None:
        self.cms: dict[tuple[str, str], dict[str, Any]] = {}
        self.secrets: dict[tuple[str, str], dict[str, Any]] = {}
        self.services: dict[str, list[dict[str, Any]]] = {}
        self.fail: Exception | None = None

    async def get_configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        if self.fail is not None:
            raise self.fail
        return self.cms.get((namespace, name))

    async def get_secret(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.secrets.get((namespace, name))

    async def list_services(self, namespace: str) -> list[dict[str, Any]]:
        return self.services.get(namespace, [])

    async def get_service(self, namespace: str, name: str) -> dict[str, Any] | None:
        for s in self.services.get(namespace, []):
            if s["metadata"]["name"] == name:
                return s
        return None


def svc(name: str, ip: str, *ports: tuple[str | None, int, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"clusterIP": ip, "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports]},
    }


def env_of(p: dict[str, Any], container: int = 0) -> dict[str, str]:
    c = p["spec"]["containers"][container]
    assert c["envFrom"] == []
    return {e["name"]: e["value"] for e in c["env"]}


Events = list[tuple[str, str, str]]


async def resolve(p: dict[str, Any], reader: Reader, **kw: Any) -> tuple[dict[str, Any], Events]:
    events: Events = []
    out = await resolve_pod_env(p, reader, lambda t, r, m: events.append((t, r, m)), **kw)
    return out, events


def test_expand() -> None:
    m = {"A": "x", "B": "y"}.get
    assert expand("$(A)-$(B)", m) == "x-y"
    assert expand("$(MISSING)", m) == "$(MISSING)"
    assert expand("$$(A)", m) == "$(A)"
    assert expand("cost $5 $", m) == "cost $5 $"
    assert expand("$(A", m) == "$(A"


def test_service_env_names() -> None:
    env = service_env([svc("my-db", "10.0.0.9", ("sql", 5432, "TCP"), (None, 53, "UDP")), svc("headless", "None")])
    assert env["MY_DB_SERVICE_HOST"] == "10.0.0.9"
    assert env["MY_DB_SERVICE_PORT"] == "5432"
    assert env["MY_DB_SERVICE_PORT_SQL"] == "5432"
    assert env["MY_DB_PORT"] == "tcp://10.0.0.9:5432"
    assert env["MY_DB_PORT_53_UDP"] == "udp://10.0.0.9:53"
    assert env["MY_DB_PORT_53_UDP_PROTO"] == "udp"
    assert env["MY_DB_PORT_53_UDP_PORT"] == "53"
    assert env["MY_DB_PORT_53_UDP_ADDR"] == "10.0.0.9"
    assert not any(k.startswith("HEADLESS") for k in env)


async def test_envfrom_env_override_and_expansion() -> None:
    r = Reader()
    r.cms[("default", "cfg")] = {"data": {"MODE": "prod", "LEVEL": "3", "bad-key": "x"}}
    r.secrets[("default", "sec")] = {"data": {"TOKEN": base64.b64encode(b"s3cret").decode()}}
    c = {
        "name": "c",
        "image": "i",
        "envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "sec"}, "prefix": "S_"}],
        "env": [
            {"name": "MODE", "value": "dev"},
            {"name": "URL", "value": "http://$(HOST):$(LEVEL)/$(NOPE)"},
            {"name": "HOST", "value": "h"},
        ],
        "command": ["run", "--mode=$(MODE)"],
    }
    out, events = await resolve(pod(containers=[c]), r)
    env = env_of(out)
    assert env["MODE"] == "dev"  # env overrides envFrom
    assert env["S_TOKEN"] == "s3cret"
    assert env["URL"] == "http://$(HOST):3/$(NOPE)"  # HOST was not defined yet
    assert "bad-key" not in env
    assert out["spec"]["containers"][0]["command"] == ["run", "--mode=dev"]
    assert [e[1] for e in events] == ["InvalidEnvironmentVariableNames"]
    assert "bad-key" in events[0][2]


async def test_optional_missing_records_event_and_continues() -> None:
    r = Reader()
    c = {
        "name": "c",
        "image": "i",
        "envFrom": [{"configMapRef": {"name": "nocm", "optional": True}}],
        "env": [
            {"name": "A", "valueFrom": {"secretKeyRef": {"name": "nosec", "key": "k", "optional": True}}},
            {"name": "B", "value": "b"},
        ],
    }
    out, events = await resolve(pod(containers=[c]), r)
    assert env_of(out) == {"B": "b"}
    assert [e[1] for e in events] == ["OptionalConfigMapNotFound", "OptionalSecretNotFound"]
    r.cms[("default", "cm")] = {"data": {}}
    c2 = {
        "name": "c",
        "image": "i",
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k", "optional": True}}}],
    }
    out, events = await resolve(pod(containers=[c2]), r)
    assert env_of(out) == {}
    assert [e[1] for e in events] == ["OptionalConfigMapKeyNotFound"]


@pytest.mark.parametrize(
    ("value_from", "reason"),
    [
        ({"configMapKeyRef": {"name": "nocm", "key": "k"}}, "MandatoryConfigMapNotFound"),
        ({"configMapKeyRef": {"name": "cm", "key": "missing"}}, "MandatoryConfigMapKeyNotFound"),
        ({"secretKeyRef": {"name": "nosec", "key": "k"}}, "MandatorySecretNotFound"),
        ({"secretKeyRef": {"name": "sec", "key": "missing"}}, "MandatorySecretKeyNotFound"),
    ],
)
async def test_mandatory_missing_raises(value_from: dict[str, Any], reason: str) -> None:
    r = Reader()
    r.cms[("default", "cm")] = {"data": {"k": "v"}}
    r.secrets[("default", "sec")] = {"data": {}}
    c = {"name": "c", "image": "i", "env": [{"name": "X", "valueFrom": value_from}]}
    events: list[str] = []
    with pytest.raises(EnvError):
        await resolve_pod_env(pod(containers=[c]), r, lambda t, rr, m: events.append(rr))
    assert events == [reason]


async def test_read_failure_events() -> None:
    r = Reader()
    r.fail = RuntimeError("503 Service Unavailable")
    c = {"name": "c", "image": "i", "envFrom": [{"configMapRef": {"name": "cm", "optional": True}}]}
    out, events = await resolve(pod(containers=[c]), r)
    assert [e[1] for e in events] == ["FailedToReadOptionalConfigMap"]
    assert env_of(out) == {}
    c["envFrom"] = [{"configMapRef": {"name": "cm"}}]
    with pytest.raises(EnvError, match="503"):
        await resolve(pod(containers=[c]), r)


async def test_downward_api_and_resource_fields() -> None:
    p = pod(containers=[{
        "name": "c",
        "image": "i",
        "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "250m"}},
        "env": [
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "LABELS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
            {"name": "HOSTIP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
            {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "CPU_M", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
            {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        ],
    }], serviceAccountName="robot")  # fmt: skip
    p["metadata"]["labels"] = {"app": "web", "tier": "edge"}
    out, _ = await resolve(p, Reader(), host_ip="10.1.1.1", allocatable={"cpu": "7", "memory": "15Gi"})
    env = env_of(out)
    assert env["NAME"] == "web" and env["NS"] == "default" and env["UID"] == "uid-1"
    assert env["APP"] == "web"
    assert env["LABELS"] == 'app="web"\ntier="edge"'
    assert env["NODE"] == "n1" and env["SA"] == "robot" and env["HOSTIP"] == "10.1.1.1"
    assert env["MEM_MI"] == "256"
    assert env["CPU_M"] == "250"
    assert env["CPU_LIMIT"] == "7"  # unset limit: node allocatable


async def test_pod_ip_field_ref_fails_with_clear_message() -> None:
    c = {"name": "c", "image": "i", "env": [{"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}
    with pytest.raises(EnvError, match=r"unsupported fieldPath: status.podIP"):
        await resolve(pod(containers=[c]), Reader())


async def test_service_links() -> None:
    r = Reader()
    r.services["default"] = [
        svc("kubernetes", "10.96.0.1", ("https", 443, "TCP")),
        svc("web", "10.96.0.7", (None, 80, "TCP")),
    ]
    r.services["other"] = [svc("db", "10.96.0.8", (None, 5432, "TCP"))]
    p = pod(ns="other")
    env = env_of((await resolve(p, r))[0])
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["DB_SERVICE_HOST"] == "10.96.0.8"
    assert "WEB_SERVICE_HOST" not in env  # other namespace
    p["spec"]["enableServiceLinks"] = False
    env = env_of((await resolve(p, r))[0])
    assert "KUBERNETES_SERVICE_HOST" in env and "DB_SERVICE_HOST" not in env
    c = {
        "name": "c",
        "image": "i",
        "env": [{"name": "DB_SERVICE_HOST", "value": "mine"}, {"name": "U", "value": "$(DB_PORT)"}],
    }
    env = env_of((await resolve(pod(ns="other", containers=[c]), r))[0])
    assert env["DB_SERVICE_HOST"] == "mine"
    assert env["U"] == "tcp://10.96.0.8:5432"


async def test_init_containers_resolved_and_input_untouched() -> None:
    p = pod()
    p["spec"]["initContainers"] = [{"name": "init", "image": "i", "env": [{"name": "A", "value": "1"}]}]
    out, _ = await resolve(p, Reader())
    assert out["spec"]["initContainers"][0]["env"] == [{"name": "A", "value": "1"}]
    assert "envFrom" not in p["spec"]["initContainers"][0]


async def test_api_reader_caches_service_lists_briefly() -> None:
    from cvk.kube import paths
    from cvk.pod.resources import ApiResourceReader
    from tests.daemon.fakes import FakeClient

    client = FakeClient()
    client.put_object(paths.services("default", "kubernetes"), svc("kubernetes", "10.96.0.1", ("https", 443, "TCP")))
    client.put_object(paths.configmaps("default", "cm"), {"metadata": {"name": "cm"}, "data": {"A": "1"}})
    reader = ApiResourceReader(client, service_ttl=60)  # type: ignore[arg-type]
    for _ in range(3):
        assert (await reader.get_service("default", "kubernetes")) is not None
        assert len(await reader.list_services("default")) == 1
    assert len(client.verbs("LIST")) == 2
    assert (await reader.get_configmap("default", "cm")) is not None
    assert await reader.get_configmap("default", "nope") is None
    assert await reader.get_secret("default", "nope") is None
