"""RBAC authorization as kube-apiserver's RBAC authorizer decides it, over the stored Roles,
ClusterRoles, RoleBindings and ClusterRoleBindings (enforced with ``--rbac``).

A request is allowed when some rule reached through a binding whose subjects include the user
(by name, by group, or as ``system:serviceaccount:NS:NAME``) matches it:

- ClusterRoleBindings grant their ClusterRole's rules everywhere;
- RoleBindings grant their Role's (or ClusterRole's) rules inside the binding's namespace only;
- a rule matches when its apiGroups, resources and verbs contain the request's (or ``*``), where
  a subresource is written ``pods/status`` and ``*/status`` covers every resource's, and when its
  resourceNames is empty or names the object (so a rule with resourceNames never allows list,
  watch, create or deletecollection, which have no name).

The default policy's system:basic-user binding is built in: every authenticated user may create
SelfSubjectAccessReviews, SelfSubjectRulesReviews and SelfSubjectReviews (``kubectl auth can-i``).

Not modelled: aggregated ClusterRoles (aggregationRule) and nonResourceURLs rules (every
authenticated user may read discovery, as the default system:discovery binding allows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Obj = dict[str, Any]
RBAC = "rbac.authorization.k8s.io"
SA_PREFIX = "system:serviceaccount:"

# (resource key, namespace or None for all) -> stored objects
Lister = Callable[[str, str | None], list[Obj]]
# (resource key, namespace, name) -> the object or None
Getter = Callable[[str, str, str], Obj | None]


# system:basic-user, bound to system:authenticated by the default RBAC policy.
BASIC_USER_RULES: tuple[Obj, ...] = (
    {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
     "verbs": ["create"]},
    {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
)


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated")


def _subject_matches(subject: Obj, user: str, groups: Iterable[str]) -> bool:
    kind = subject.get("kind")
    name = subject.get("name") or ""
    if kind == "User":
        return name == user
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        return user == f"{SA_PREFIX}{subject.get('namespace') or ''}:{name}"
    return False


def _contains(values: Iterable[str], wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values)


def rule_allows(rule: Obj, verb: str, group: str, resource: str, sub: str, name: str) -> bool:
    if not _contains(rule.get("verbs") or [], verb):
        return False
    if not _contains(rule.get("apiGroups") or [], group):
        return False
    combined = f"{resource}/{sub}" if sub else resource
    resources = rule.get("resources") or []
    if not any(r == "*" or r == combined or (sub and r == f"*/{sub}") for r in resources):
        return False
    names = rule.get("resourceNames") or []
    return not names or (bool(name) and name in names)


def allows(
    lister: Lister,
    getter: Getter,
    user: str,
    groups: Iterable[str],
    verb: str,
    group: str,
    resource: str,
    sub: str,
    namespace: str | None,
    name: str,
) -> bool:
    """True when the stored RBAC objects let ``user`` do ``verb`` on the resource."""
    groups = tuple(groups)
    if "system:authenticated" in groups and any(
        rule_allows(r, verb, group, resource, sub, name) for r in BASIC_USER_RULES
    ):
        return True

    def role_rules(ref: Obj, binding_ns: str) -> list[Obj]:
        if ref.get("apiGroup") != RBAC:
            return []
        if ref.get("kind") == "ClusterRole":
            role = getter(f"{RBAC}/clusterroles", "", ref.get("name") or "")
        elif ref.get("kind") == "Role" and binding_ns:
            role = getter(f"{RBAC}/roles", binding_ns, ref.get("name") or "")
        else:
            role = None
        return list((role or {}).get("rules") or [])

    def granted(binding: Obj, binding_ns: str) -> bool:
        if not any(_subject_matches(s, user, groups) for s in binding.get("subjects") or []):
            return False
        rules = role_rules(binding.get("roleRef") or {}, binding_ns)
        return any(rule_allows(r, verb, group, resource, sub, name) for r in rules)

    if any(granted(b, "") for b in lister(f"{RBAC}/clusterrolebindings", None)):
        return True
    if namespace:
        return any(granted(b, namespace) for b in lister(f"{RBAC}/rolebindings", namespace))
    return False
