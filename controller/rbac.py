"""Least-privilege RBAC rules for the controller and for cisco-vk, the one source for deploy/.

The controller and cisco-vk run under separate ServiceAccounts:

- the controller manages CiscoDevices and the objects it owns, reads Secrets only to notice
  credential rotation (it never copies their content), deletes the pods, Node and Lease of a
  removed device, and holds its leader-election Lease;
- cisco-vk acts as a kubelet for its one node: pods bound to it, their status, its Node and Lease,
  Events, and it *gets* (never lists or watches) the ConfigMaps and Secrets its pods reference, as
  the kubelet does for env resolution. TokenReview and SubjectAccessReview authenticate and
  authorize callers of its kubelet API.
"""

from __future__ import annotations

from typing import Any

from controller.crd import GROUP, PLURAL

Rule = dict[str, Any]


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> Rule:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]


def controller_rules() -> list[Rule]:
    return [
        _rule([GROUP], [PLURAL], [*READ, "update", "patch"]),
        _rule([GROUP], [f"{PLURAL}/status"], ["get", "update", "patch"]),
        _rule([GROUP], [f"{PLURAL}/finalizers"], ["update"]),
        _rule([""], ["configmaps"], [*READ, *WRITE]),
        _rule([""], ["secrets"], [*READ, *WRITE]),  # owned credentials Secret for inline passwords
        _rule(["apps"], ["deployments"], [*READ, *WRITE]),
        _rule([""], ["pods"], ["get", "list", "watch", "delete"]),
        _rule([""], ["serviceaccounts"], ["get"]),
        _rule([""], ["nodes"], ["get", "list", "watch", "delete"]),
        _rule(["coordination.k8s.io"], ["leases"], [*READ, *WRITE]),
        _rule([""], ["events"], ["create", "patch"]),
        _rule(["events.k8s.io"], ["events"], ["create", "patch"]),
    ]


def vk_rules() -> list[Rule]:
    return [
        _rule([""], ["pods"], ["get", "list", "watch", "delete"]),
        _rule([""], ["pods/status"], ["get", "update", "patch"]),
        _rule([""], ["nodes"], ["get", "list", "watch", "create", "update", "patch"]),
        _rule([""], ["nodes/status"], ["get", "update", "patch"]),
        _rule(["coordination.k8s.io"], ["leases"], ["get", "create", "update", "patch"]),
        _rule([""], ["configmaps", "secrets"], ["get"]),
        _rule([""], ["services"], ["list", "watch"]),  # service-link env variables
        _rule([""], ["events"], ["create", "patch"]),
        _rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
        _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
    ]


def cluster_role(name: str, rules: list[Rule], labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta,
            "rules": rules}


def binding(name: str, role: str, sa: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}],
    }
