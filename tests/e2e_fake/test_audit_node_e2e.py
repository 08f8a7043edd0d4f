"""Node behaviours 1, 8 and 10 against the API emulator, checked with real kubectl: a restart with a
changed device spec patches the existing Node (same UID), removes the label cisco-vk no longer
wants, and keeps another client's label, condition and taint."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_fake.helpers import condition, daemon, fake_spec, fast_opts, get_json, kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_restart_with_a_dropped_label_patches_and_keeps_foreign_fields(kubeapi: Any, tmp_path: Path) -> None:
    kc = str(kubeapi.kubeconfig)
    base = fake_spec(tmp_path / "fake.json")
    first = dataclasses.replace(base, labels={"site": "a", "rack": "1"})
    async with daemon(first, fast_opts("sw20", kc)):
        node = await get_json(kc, "node", "sw20")
        assert node is not None
        uid = node["metadata"]["uid"]
        assert node["metadata"]["labels"]["rack"] == "1"
        await kubectl(kc, "label", "node", "sw20", "team=net")
        await kubectl(kc, "taint", "node", "sw20", "dedicated=iot:NoSchedule")
        foreign = {"status": {"conditions": [{"type": "Foreign", "status": "True", "reason": "Mine"}]}}
        patch = json.dumps(foreign)
        await kubectl(kc, "patch", "node", "sw20", "--subresource=status", "--type=strategic", "-p", patch)
    second = dataclasses.replace(base, labels={"site": "b"})
    async with daemon(second, fast_opts("sw20", kc)):
        node = await get_json(kc, "node", "sw20")
        assert node is not None
        assert node["metadata"]["uid"] == uid  # patched, not created again
        labels = node["metadata"]["labels"]
        assert labels["site"] == "b" and "rack" not in labels and labels["team"] == "net"
        assert (condition(node, "Foreign") or {}).get("reason") == "Mine"
        assert (condition(node, "Ready") or {}).get("status") == "True"
        taints = {(t["key"], t.get("value")) for t in node["spec"]["taints"]}
        assert {("dedicated", "iot"), ("virtual-kubelet.io/provider", "cisco")} <= taints
