"""Reviews (TokenReview, SubjectAccessReview) with the deny list; leases as the node lease
controller uses them (create, optimistic PUT, conflict); node proxy."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from hack.kubeapi.fixtures import wait_for

from .kubelet_stub import StubKubelet


def test_token_review(kubeapi: Any) -> None:
    auth = client.AuthenticationV1Api(kubeapi.client())
    kubeapi.server.add_token(
        "sa-token", "system:serviceaccount:kube-system:cvk", ("system:serviceaccounts", "system:authenticated")
    )
    ok = auth.create_token_review({"spec": {"token": "sa-token"}})
    assert ok.status.authenticated is True
    assert ok.status.user.username == "system:serviceaccount:kube-system:cvk"
    assert ok.status.user.groups == ["system:serviceaccounts", "system:authenticated"]
    bad = auth.create_token_review({"spec": {"token": "nope"}})
    assert bad.status.authenticated is False and bad.status.error
    r = kubeapi.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {}})
    assert r.status_code == 422 and "spec.token: Required value" in r.json()["message"]


def _sar(user: str, verb: str, resource: str, sub: str = "") -> dict[str, Any]:
    return {
        "spec": {
            "user": user,
            "resourceAttributes": {"verb": verb, "resource": resource, "subresource": sub, "name": "n1"},
        }
    }


def test_subject_access_review_allows_all_but_the_deny_list(kubeapi: Any) -> None:
    authz = client.AuthorizationV1Api(kubeapi.client())
    assert authz.create_subject_access_review(_sar("alice", "get", "nodes", "proxy")).status.allowed is True
    kubeapi.server.deny("system:anonymous:*:nodes/*", "alice:create:nodes/proxy")
    denied = authz.create_subject_access_review(_sar("alice", "create", "nodes", "proxy")).status
    assert denied.allowed is False and denied.denied is True
    assert authz.create_subject_access_review(_sar("alice", "get", "nodes", "proxy")).status.allowed is True
    assert authz.create_subject_access_review(_sar("system:anonymous", "get", "nodes", "stats")).status.allowed is False
    assert authz.create_subject_access_review(_sar("system:anonymous", "get", "nodes")).status.allowed is True
    kubeapi.server.clear_deny()
    assert authz.create_subject_access_review(_sar("alice", "create", "nodes", "proxy")).status.allowed is True


def test_deny_list_applies_to_requests(kubeapi: Any) -> None:
    kubeapi.server.add_token("bob-token", "bob")
    assert kubeapi.request("GET", "/api/v1/namespaces/default/pods", token="bob-token").status_code == 200
    kubeapi.server.deny("bob:list:pods")
    r = kubeapi.request("GET", "/api/v1/namespaces/default/pods", token="bob-token")
    assert r.status_code == 403
    assert r.json()["message"] == (
        'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"'
    )


def test_node_lease_create_put_and_conflict(kubeapi: Any) -> None:
    coord = client.CoordinationV1Api(kubeapi.client())
    node = client.CoreV1Api(kubeapi.client()).create_node({"metadata": {"name": "n1"}})
    now = datetime.datetime.now(datetime.UTC)
    lease = coord.create_namespaced_lease(
        "kube-node-lease",
        {
            "metadata": {
                "name": "n1",
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n1", "uid": node.metadata.uid}],
            },
            "spec": {
                "holderIdentity": "n1",
                "leaseDurationSeconds": 40,
                "renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            },
        },
    )
    lease.spec.renew_time = now + datetime.timedelta(seconds=10)
    renewed = coord.replace_namespaced_lease("n1", "kube-node-lease", lease)
    assert renewed.spec.renew_time > lease.metadata.creation_timestamp
    with pytest.raises(ApiException) as exc:
        coord.replace_namespaced_lease("n1", "kube-node-lease", lease)  # stale resourceVersion
    assert exc.value.status == 409
    # The lease belongs to its Node: deleting the Node collects it.
    client.CoreV1Api(kubeapi.client()).delete_node("n1")
    wait_for(lambda: not coord.list_namespaced_lease("kube-node-lease").items, message="lease collected")
    with pytest.raises(ApiException) as exc:
        coord.create_namespaced_lease(
            "kube-node-lease", {"metadata": {"name": "n2"}, "spec": {"leaseDurationSeconds": 0}}
        )
    assert exc.value.status == 422


@pytest.fixture
def kubelet(kubeapi: Any, tmp_path: Path) -> Iterator[StubKubelet]:
    stub = StubKubelet(kubeapi.client_ca_cert_file, tmp_path).start()
    try:
        yield stub
    finally:
        stub.stop()


def test_node_proxy_and_missing_endpoint(kubeapi: Any, kubelet: StubKubelet) -> None:
    kubeapi.server.create_object(kubelet.node("vk"))
    r = kubeapi.request("GET", "/api/v1/nodes/vk/proxy/pods")
    assert r.status_code == 200 and r.json()["kind"] == "PodList"
    assert kubelet.requests[-1].path == "/pods" and kubelet.requests[-1].client_cn == "kube-apiserver-kubelet-client"
    kubeapi.server.create_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "bare"}})
    r = kubeapi.request("GET", "/api/v1/nodes/bare/proxy/pods")
    assert r.status_code == 400 and "status.addresses" in r.json()["message"]
    core = client.CoreV1Api(kubeapi.client())
    core.create_namespaced_pod(
        "default", {"metadata": {"name": "unbound"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    )
    r = kubeapi.request(
        "GET", "/api/v1/namespaces/default/pods/unbound/exec", params={"command": "ls", "stdout": "true"}
    )
    assert r.status_code == 400 and r.json()["message"] == "pod unbound does not have a host assigned"


def _pb_field(num: int, payload: bytes) -> bytes:
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            b, n = n & 0x7F, n >> 7
            out.append(b | (0x80 if n else 0))
            if not n:
                return bytes(out)

    return varint(num << 3 | 2) + varint(len(payload)) + payload


def test_reviews_in_protobuf(kubeapi: Any) -> None:
    """Go clients (a real kubelet's webhook authenticator/authorizer) send reviews in protobuf."""
    type_meta = _pb_field(1, b"authentication.k8s.io/v1") + _pb_field(2, b"TokenReview")
    raw = _pb_field(2, _pb_field(1, kubeapi.token.encode()))
    body = b"k8s\x00" + _pb_field(1, type_meta) + _pb_field(2, raw)
    r = kubeapi.request(
        "POST", "/apis/authentication.k8s.io/v1/tokenreviews", body, content_type="application/vnd.kubernetes.protobuf"
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"]["user"]["username"] == "admin"
    kubeapi.server.deny("carol:get:nodes/proxy")
    attrs = _pb_field(2, b"get") + _pb_field(5, b"nodes") + _pb_field(6, b"proxy")
    spec = _pb_field(1, attrs) + _pb_field(3, b"carol")
    type_meta = _pb_field(1, b"authorization.k8s.io/v1") + _pb_field(2, b"SubjectAccessReview")
    body = b"k8s\x00" + _pb_field(1, type_meta) + _pb_field(2, _pb_field(2, spec))
    r = kubeapi.request(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body,
        content_type="application/vnd.kubernetes.protobuf",
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"]["allowed"] is False
