"""Timestamps as the Kubernetes API writes them."""

from __future__ import annotations

import datetime


def rfc3339(t: float) -> str:
    """Second precision, like metav1.Time: 2026-11-21T08:25:14Z."""
    return datetime.datetime.fromtimestamp(int(t), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(t: float) -> str:
    """Log-line timestamps: 2026-11-21T08:25:14.123456000Z (the kubelet's RFC3339Nano shape)."""
    dt = datetime.datetime.fromtimestamp(t, datetime.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def to_datetime(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, datetime.UTC)
