"""Authentication (bearer tokens, client certificates) and authorization (allow-all with a deny
list), plus the TokenReview / SubjectAccessReview answers built on them."""

from __future__ import annotations

import dataclasses
import fnmatch
import hmac
from typing import Any

Obj = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ("system:authenticated",)
    uid: str = ""


@dataclasses.dataclass(frozen=True)
class DenyRule:
    """`user:verb:resource`; user may contain colons (system:serviceaccount:ns:sa), any part may be
    `*` (fnmatch patterns), resource may name a subresource (nodes/proxy)."""

    user: str
    verb: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> DenyRule:
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(
                f"invalid deny rule {text!r}: expected USER:VERB:RESOURCE, e.g. system:anonymous:get:nodes/proxy"
            )
        return cls(*parts)

    def matches(self, user: str, verb: str, resource: str) -> bool:
        return (
            fnmatch.fnmatchcase(user, self.user)
            and fnmatch.fnmatchcase(verb, self.verb)
            and fnmatch.fnmatchcase(resource, self.resource)
        )


class Authority:
    def __init__(self, admin_token: str) -> None:
        self._tokens: dict[str, User] = {}
        self.deny_rules: list[DenyRule] = []
        self.add_token(admin_token, User("admin", ("system:masters", "system:authenticated")))

    def add_token(self, token: str, user: User) -> None:
        self._tokens[token] = user

    def user_for_token(self, token: str) -> User | None:
        for known, user in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return user
        return None

    def deny(self, *rules: str) -> None:
        for r in rules:
            self.deny_rules.append(DenyRule.parse(r))

    def clear_denies(self) -> None:
        self.deny_rules.clear()

    def allowed(self, user: str, verb: str, resource: str, subresource: str = "") -> bool:
        full = f"{resource}/{subresource}" if subresource else resource
        return not any(r.matches(user, verb, full) for r in self.deny_rules)

    # --- review objects ---------------------------------------------------------------------

    def token_review(self, body: Obj) -> Obj:
        token = ((body.get("spec") or {}).get("token")) or ""
        user = self.user_for_token(token) if token else None
        out = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "metadata": body.get("metadata") or {},
            "spec": body.get("spec") or {},
        }
        if user is None:
            out["status"] = {"authenticated": False, "user": {}, "error": "invalid bearer token"}
        else:
            status: Obj = {"authenticated": True, "user": {"username": user.name, "groups": list(user.groups)}}
            if user.uid:
                status["user"]["uid"] = user.uid
            audiences = (body.get("spec") or {}).get("audiences")
            if audiences:
                status["audiences"] = audiences
            out["status"] = status
        return out

    def access_review(self, body: Obj, kind: str, requester: User) -> Obj:
        spec = body.get("spec") or {}
        user = spec.get("user") or ""
        if kind == "SelfSubjectAccessReview":
            user = requester.name
        attrs = spec.get("resourceAttributes")
        if attrs:
            verb = attrs.get("verb") or ""
            resource = attrs.get("resource") or ""
            sub = attrs.get("subresource") or ""
            ok = self.allowed(user, verb, resource, sub)
        else:
            nra = spec.get("nonResourceAttributes") or {}
            ok = self.allowed(user, nra.get("verb") or "", nra.get("path") or "")
        status: Obj = {"allowed": ok}
        if ok:
            status["reason"] = "allowed by the emulator's allow-all policy"
        else:
            status["denied"] = True
            status["reason"] = "denied by the emulator's deny list"
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": kind,
            "metadata": body.get("metadata") or {},
            "spec": spec,
            "status": status,
        }
