"""Run-time options of ``cisco-vk run`` that are not part of the device spec (flags and env)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class RunOptions:
    node_name: str
    kubeconfig: str | None = None  # None: KUBECONFIG, ~/.kube/config, then in-cluster
    log_level: str = "info"
    # Kubelet HTTPS API (cvk/kubelet)
    kubelet_port: int = 10250
    kubelet_address: str = "0.0.0.0"
    tls_cert_file: str | None = None  # None: self-signed certificate for the node's addresses
    tls_key_file: str | None = None
    client_ca_file: str | None = None  # client-certificate authentication; None: the cluster CA
    authentication_token_webhook: bool = True  # bearer tokens checked with TokenReview
    authorization_webhook: bool = True  # SubjectAccessReview per request
    anonymous_auth: bool = False  # only when asked for
    # The address other components use to reach this kubelet API (Node InternalIP); None: detect.
    node_ip: str | None = None
    # Controllers
    pod_sync_workers: int = 10
    lease_duration_seconds: int = 40
    lease_renew_seconds: float = 10.0
    node_status_seconds: float = 60.0
    ping_seconds: float = 10.0
    status_poll_seconds: float = 5.0  # fallback polling for drivers without a notifier
    startup_timeout_seconds: float = 60.0
