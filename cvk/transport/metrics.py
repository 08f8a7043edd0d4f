"""Device-request metrics shared by the transports (served on the kubelet API's ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DEVICE_REQUESTS = Counter(
    "cisco_vk_device_requests_total",
    "Requests sent to the device, by transport (restconf, gnoi, ssh), method (HTTP method, gNOI RPC, CLI verb) "
    "and outcome (HTTP status, gRPC status, or ok/rejected/unreachable).",
    ["transport", "method", "code"],
)
DEVICE_SECONDS = Histogram(
    "cisco_vk_device_request_duration_seconds",
    "Duration of one request to the device (one attempt), by transport and method.",
    ["transport", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
