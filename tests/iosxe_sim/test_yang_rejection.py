"""Bodies that break the YANG models are rejected before anything changes, the way IOS-XE does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hack.iosxe_sim.fixtures import SimHandle
from tests.iosxe_sim.helpers import APPS, RPC, app_config, session

APP_PATH = "/Cisco-IOS-XE-app-hosting-cfg:app-hosting-cfg-data/apps/app="


def mutate(app_id: str, **changes: Any) -> dict[str, Any]:
    body = app_config(app_id)
    entry = body["Cisco-IOS-XE-app-hosting-cfg:app"][0]
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = entry
        for p in parents:
            node = node[p]
        node[leaf] = value
    return body


CASES = [
    pytest.param(
        mutate("m1", **{"application-resource-profile.memory-capacity-mb": 99999}),
        "invalid-value",
        APP_PATH + "m1/application-resource-profile/memory-capacity-mb",
        "0..16384",
        id="memory-out-of-range",
    ),
    pytest.param(
        mutate("c1", **{"application-resource-profile.cpu-units": 20001}),
        "invalid-value",
        APP_PATH + "c1/application-resource-profile/cpu-units",
        "20000",
        id="cpu-units-out-of-range",
    ),
    pytest.param(mutate("b1", start="yes"), "invalid-value", APP_PATH + "b1/start", "boolean", id="bad-boolean"),
    pytest.param(
        mutate("u1", **{"application-network-resource.no-such-leaf": "1"}),
        "malformed-message",
        APP_PATH + "u1/application-network-resource/no-such-leaf",
        "unknown element",
        id="unknown-leaf",
    ),
    pytest.param(
        mutate("x" * 41, **{"application-name": "x" * 41}),
        "invalid-value",
        APP_PATH + "x" * 41 + "/application-name",
        "length 1..40",
        id="app-id-too-long",
    ),
    pytest.param(
        mutate("bad-name", **{"application-name": "bad-name"}),
        "invalid-value",
        APP_PATH + "bad-name/application-name",
        "pattern",
        id="app-id-pattern",
    ),
    pytest.param(
        mutate("r1", **{"run-optss.run-opts": [{"line-index": 1, "line-run-opts": "x" * 236}]}),
        "invalid-value",
        APP_PATH + "r1/run-optss/run-opts=1/line-run-opts",
        "0..235",
        id="run-opts-too-long",
    ),
    pytest.param(
        mutate("g1", **{"application-network-resource.virtualportgroup-guest-interface-name-1": "7"}),
        "invalid-value",
        APP_PATH + "g1/application-network-resource/virtualportgroup-guest-interface-name-1",
        "pattern",
        id="vpg-guest-interface-out-of-pattern",
    ),
    pytest.param(
        mutate("i1", **{"application-network-resource.virtualportgroup-guest-ip-address-1": "10.0.0.300"}),
        "invalid-value",
        APP_PATH + "i1/application-network-resource/virtualportgroup-guest-ip-address-1",
        "",
        id="bad-ip-address",
    ),
]


@pytest.mark.parametrize(("body", "tag", "path", "hint"), CASES)
def test_invalid_config_is_rejected_with_tag_and_path(
    iosxe_sim: SimHandle, body: dict[str, Any], tag: str, path: str, hint: str
) -> None:
    s = session(iosxe_sim)
    r = s.post(iosxe_sim.url + APPS, json=body)
    assert r.status_code == 400, r.text
    (err,) = r.json()["ietf-restconf:errors"]["error"]
    assert err["error-type"] == "application"
    assert err["error-tag"] == tag
    assert err["error-path"] == path
    assert hint in err["error-message"]
    assert iosxe_sim.state.apps == {}


def test_put_and_patch_bodies_are_validated_too(iosxe_sim: SimHandle) -> None:
    s = session(iosxe_sim)
    s.post(iosxe_sim.url + APPS, json=app_config("v1"))
    bad = mutate("v1", **{"application-resource-profile.vcpu": -1})
    assert s.put(iosxe_sim.url + APPS + "/app=v1", json=bad).status_code == 400
    assert s.patch(iosxe_sim.url + APPS + "/app=v1", json=bad).status_code == 400
    entry = iosxe_sim.state.apps["v1"].config
    assert entry is not None and entry["application-resource-profile"]["vcpu"] == 1


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"install": {"appid": "a", "pkg": "bootflash:/x.tar"}}, "unknown element"),
        ({}, "mandatory choice"),
        ({"install": {"appid": "a"}, "start": {"appid": "a"}}, "not-allowed"),
        ({"move": {"appid": "a", "log": {"to": "tftp:"}}}, "pattern"),
        ({"start": {"appid": 5}}, "expected"),
    ],
)
def test_invalid_rpc_input_is_rejected(iosxe_sim: SimHandle, body: dict[str, Any], fragment: str) -> None:
    r = session(iosxe_sim).post(iosxe_sim.url + RPC, json=body)
    assert r.status_code == 400, r.text
    (err,) = r.json()["ietf-restconf:errors"]["error"]
    assert err["error-tag"] in ("invalid-value", "malformed-message")
    assert fragment in err["error-message"]


def test_valid_body_is_not_altered_by_validation(iosxe_sim: SimHandle) -> None:
    body = app_config("keep")
    sent = copy.deepcopy(body)
    session(iosxe_sim).post(iosxe_sim.url + APPS, json=body)
    assert iosxe_sim.state.apps["keep"].config == sent["Cisco-IOS-XE-app-hosting-cfg:app"][0]
