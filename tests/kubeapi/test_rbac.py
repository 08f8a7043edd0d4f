"""RBAC enforcement (--rbac) and service-account tokens (serviceaccounts/NAME/token)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hack.kubeapi import rbac
from hack.kubeapi.fixtures import running_kubeapi

RBAC_API = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture
def rbac_api(tmp_path: Path) -> Iterator[Any]:
    with running_kubeapi(tmp_path / "kubeapi", rbac=True) as handle:
        yield handle


def _sa_token(api: Any, ns: str, name: str) -> str:
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
    assert api.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts", sa).status_code == 201
    r = api.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts/{name}/token", {"spec": {}})
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "TokenRequest" and r.json()["status"]["expirationTimestamp"]
    return str(r.json()["status"]["token"])


def _cluster_role(api: Any, name: str, rules: list[dict[str, Any]]) -> None:
    body = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
            "rules": rules}
    assert api.request("POST", f"{RBAC_API}/clusterroles", body).status_code == 201


def _bind(api: Any, name: str, role: str, subject: dict[str, Any], ns: str | None = None) -> None:
    kind = "RoleBinding" if ns else "ClusterRoleBinding"
    body = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [subject]}
    path = f"{RBAC_API}/namespaces/{ns}/rolebindings" if ns else f"{RBAC_API}/clusterrolebindings"
    assert api.request("POST", path, body).status_code == 201


def test_a_service_account_gets_only_what_its_bindings_grant(rbac_api: Any) -> None:
    token = _sa_token(rbac_api, "default", "reader")
    r = rbac_api.request("GET", "/api/v1/namespaces/default/pods", token=token)
    assert r.status_code == 403
    assert r.json()["message"] == (
        'pods is forbidden: User "system:serviceaccount:default:reader" cannot list resource "pods" '
        'in API group "" in the namespace "default"'
    )
    _cluster_role(rbac_api, "pod-reader", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}])
    _bind(rbac_api, "reader", "pod-reader", {"kind": "ServiceAccount", "name": "reader", "namespace": "default"},
          ns="default")
    assert rbac_api.request("GET", "/api/v1/namespaces/default/pods", token=token).status_code == 200
    # A RoleBinding grants in its own namespace only; verbs and subresources are matched exactly.
    assert rbac_api.request("GET", "/api/v1/namespaces/kube-system/pods", token=token).status_code == 403
    assert rbac_api.request("GET", "/api/v1/pods", token=token).status_code == 403
    assert rbac_api.request("GET", "/api/v1/namespaces/default/pods?watch=1", token=token).status_code == 403
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    assert rbac_api.request("POST", "/api/v1/namespaces/default/pods", pod).status_code == 201  # admin
    assert rbac_api.request("GET", "/api/v1/namespaces/default/pods/p", token=token).status_code == 200
    assert rbac_api.request("GET", "/api/v1/namespaces/default/pods/p/status", token=token).status_code == 403
    # The admin (system:masters) is never subject to RBAC; a bad token is 401.
    assert rbac_api.request("GET", "/api/v1/pods").status_code == 200
    assert rbac_api.request("GET", "/api/v1/pods", token="nope").status_code == 401


def test_cluster_bindings_groups_resource_names_and_wildcards(rbac_api: Any) -> None:
    token = _sa_token(rbac_api, "default", "sa1")
    _cluster_role(rbac_api, "one-secret", [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["s1"]},
        {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]},
    ])
    _bind(rbac_api, "sas", "one-secret", {"kind": "Group", "name": "system:serviceaccounts:default"})
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "stringData": {"a": "b"}}
    assert rbac_api.request("POST", "/api/v1/namespaces/kube-system/secrets", secret).status_code == 201
    assert rbac_api.request("GET", "/api/v1/namespaces/kube-system/secrets/s1", token=token).status_code == 200
    assert rbac_api.request("GET", "/api/v1/namespaces/kube-system/secrets/s2", token=token).status_code == 403
    assert rbac_api.request("GET", "/api/v1/namespaces/kube-system/secrets", token=token).status_code == 403
    assert rbac_api.request("GET", "/api/v1/nodes/n1/status", token=token).status_code == 404  # allowed, absent


def test_token_request_needs_an_existing_service_account_and_ten_minutes(rbac_api: Any) -> None:
    r = rbac_api.request("POST", "/api/v1/namespaces/default/serviceaccounts/ghost/token", {"spec": {}})
    assert r.status_code == 404
    _sa_token(rbac_api, "default", "real")
    r = rbac_api.request(
        "POST", "/api/v1/namespaces/default/serviceaccounts/real/token", {"spec": {"expirationSeconds": 60}}
    )
    assert r.status_code == 422 and "spec.expirationSeconds" in r.json()["message"]


def test_token_review_recognises_service_account_tokens(rbac_api: Any) -> None:
    token = _sa_token(rbac_api, "default", "sa2")
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    status = rbac_api.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", review).json()["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == "system:serviceaccount:default:sa2"
    assert "system:serviceaccounts:default" in status["user"]["groups"]


def test_rule_matching() -> None:
    rule = {"apiGroups": [""], "resources": ["pods", "pods/status"], "verbs": ["get", "update"]}
    assert rbac.rule_allows(rule, "get", "", "pods", "", "p")
    assert rbac.rule_allows(rule, "update", "", "pods", "status", "p")
    assert not rbac.rule_allows(rule, "patch", "", "pods", "status", "p")
    assert not rbac.rule_allows(rule, "get", "apps", "pods", "", "p")
    assert not rbac.rule_allows(rule, "get", "", "pods", "log", "p")
    named = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"], "resourceNames": ["s"]}
    assert rbac.rule_allows(named, "delete", "", "secrets", "", "s")
    assert not rbac.rule_allows(named, "list", "", "secrets", "", "")
    assert not rbac.rule_allows(named, "create", "", "secrets", "", "")
