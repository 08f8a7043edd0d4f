"""CiscoDevice status computed from what the controller observed."""

from __future__ import annotations

from typing import Any

from controller.status import Condition, Observed, compute_status

DEVICE: dict[str, Any] = {"metadata": {"name": "sw1", "namespace": "lab", "generation": 3},
                          "spec": {"address": "10.0.0.1"}}
READY_DEPLOYMENT = {"metadata": {"generation": 2}, "status": {"readyReplicas": 1, "observedGeneration": 2}}


def _node(ready: str, reachable: str, message: str = "") -> dict[str, Any]:
    return {"metadata": {"name": "sw1", "labels": {"cisco.vk/model": "C8000V"}},
            "status": {"conditions": [{"type": "Ready", "status": ready},
                                      {"type": "DeviceReachable", "status": reachable,
                                       "reason": "DeviceOK" if reachable == "True" else "DeviceUnreachable",
                                       "message": message}],
                       "nodeInfo": {"osImage": "IOS-XE 17.15.1", "machineID": "FDO123"}}}


def _cond(status: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == ctype)


def test_ready_when_deployment_ready_node_ready_and_device_reachable() -> None:
    st = compute_status(DEVICE, Observed(deployment=READY_DEPLOYMENT, node=_node("True", "True")), now="T1")
    assert st["phase"] == "Ready" and st["observedGeneration"] == 3
    assert _cond(st, "Ready")["status"] == "True"
    assert st["device"] == {"model": "C8000V", "serialNumber": "FDO123", "softwareVersion": "IOS-XE 17.15.1"}


def test_provisioning_until_the_pod_is_ready() -> None:
    st = compute_status(DEVICE, Observed(deployment={"status": {}}, node=None), now="T1")
    assert st["phase"] == "Provisioning"
    assert _cond(st, "Ready")["reason"] == "CiscoVKNotReady"
    assert _cond(st, "DeviceReachable")["status"] == "Unknown"


def test_unreachable_device_is_an_error_naming_the_failure() -> None:
    node = _node("True", "False", "connect to 10.0.0.1:443 refused")
    st = compute_status(DEVICE, Observed(deployment=READY_DEPLOYMENT, node=node), now="T1")
    assert st["phase"] == "Error"
    assert _cond(st, "Ready")["message"] == "connect to 10.0.0.1:443 refused"


def test_invalid_spec_reports_reason_and_field() -> None:
    err = Condition("Reconciled", "False", "InvalidSpec", "spec.port: must be between 1 and 65535")
    st = compute_status(DEVICE, Observed(spec_error=err), now="T1")
    assert st["phase"] == "Error"
    assert _cond(st, "Ready")["message"] == "spec.port: must be between 1 and 65535"
    assert _cond(st, "Reconciled")["reason"] == "InvalidSpec"


def test_transition_time_is_stable_while_status_does_not_change() -> None:
    seen = Observed(deployment=READY_DEPLOYMENT, node=_node("True", "True"))
    first = compute_status(DEVICE, seen, now="T1")
    again = compute_status({**DEVICE, "status": first}, seen, now="T2")
    assert again == first
    down = compute_status({**DEVICE, "status": first},
                          Observed(deployment=READY_DEPLOYMENT, node=_node("True", "False")), now="T3")
    assert _cond(down, "Ready")["lastTransitionTime"] == "T3"
