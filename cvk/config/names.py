"""Kubernetes name rules (DNS-1123, label keys and values) and the default node name."""

from __future__ import annotations

import re

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_HOST_LABEL = r"[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_HOST_LABEL}(\.{_HOST_LABEL})*\.?$")

NODE_NAME_MAX = 63  # the node name is also the kubernetes.io/hostname label value


def dns_subdomain_problem(value: str, max_len: int = 253) -> str | None:
    """Why ``value`` is not a DNS-1123 subdomain (None when it is)."""
    if not value:
        return "must not be empty"
    if len(value) > max_len:
        return f"must be at most {max_len} characters (it has {len(value)})"
    if not DNS1123_SUBDOMAIN.match(value):
        return ("must be lower-case letters, digits, '-' and '.', starting and ending with a letter or "
                f"digit (a DNS-1123 subdomain), got {value!r}")
    return None


def label_key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        return f"prefix {prefix!r} must be a DNS-1123 subdomain such as example.com"
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        return (f"name {name!r} must be 1-63 characters of letters, digits, '-', '_' and '.', "
                "starting and ending with a letter or digit")
    return None


def label_value_problem(value: str) -> str | None:
    if value == "":
        return None
    if len(value) > 63 or not _LABEL_NAME.match(value):
        return (f"{value!r} must be at most 63 characters of letters, digits, '-', '_' and '.', "
                "starting and ending with a letter or digit")
    return None


def is_hostname(value: str) -> bool:
    return bool(_HOSTNAME.match(value))


def default_node_name(address: str) -> str:
    """``cisco-vk-<address>`` made a valid node name: lower-case, every character outside
    ``[a-z0-9-]`` (dots, colons, slashes, spaces) replaced by '-', runs of '-' collapsed, at most 63
    characters. (The Go original kept upper case, producing names the API server rejects.)"""
    body = re.sub(r"[^a-z0-9-]+", "-", address.strip().lower())
    body = re.sub(r"-{2,}", "-", body).strip("-")
    if not body:
        return "cisco-virtual-kubelet"
    return ("cisco-vk-" + body)[:NODE_NAME_MAX].rstrip("-")
