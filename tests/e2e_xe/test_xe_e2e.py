"""cisco-vk with the XE driver: API emulator + IOS-XE simulator + daemon, checked with real kubectl.

Each addressing mode gets a pod Running with an address from the right network; deletion leaves no
app on the device; multi-container and long-named pods; restartPolicy Never and Always with a
crashing app; a device outage keeps pods Running with a condition and recovers.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cvk.config.spec import (
    AppGigabitEthernetIf,
    AppGigMode,
    DeviceSpec,
    DriverName,
    InterfaceType,
    ManagementIf,
    TLSConfig,
    VirtualPortGroupIf,
    VlanIf,
    XEConfig,
    XEInterface,
    XENetworking,
)
from cvk.driver.xe import naming
from hack.iosxe_sim.fixtures import SimHandle
from tests.e2e_fake.helpers import CvkProcess, condition, daemon, eventually, fast_opts, get_json, kubectl
from tests.xe.helpers import invalid_requests

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

FILES = {"flash:/hello.tar": b"IOX-PACKAGE"}
TOLERATE = [{"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}]


def xe_spec(sim: SimHandle, iface: XEInterface | None = None, **kw: Any) -> DeviceSpec:
    return DeviceSpec(
        driver=DriverName.XE,
        address=sim.address,
        port=sim.port,
        username=sim.username,
        password=sim.password,
        tls=TLSConfig(enabled=True, ca_file=sim.ca_file),
        xe=XEConfig(networking=XENetworking(interface=iface)),
        **kw,
    )


def manifest(
    name: str, node: str, containers: list[dict[str, Any]] | None = None, *, ns: str = "default", policy: str = "Always"
) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "nodeName": node,
                "restartPolicy": policy,
                "containers": containers or [{"name": "app", "image": "flash:/hello.tar"}],
                "tolerations": TOLERATE,
            },
        }
    )


def phase(p: dict[str, Any] | None) -> str:
    return str(((p or {}).get("status") or {}).get("phase") or "")


async def running_pod(kc: str, name: str, ns: str = "default") -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        p = await get_json(kc, "pod", name, "-n", ns)
        return p if phase(p) == "Running" and p and p["status"].get("podIP") else None

    result: dict[str, Any] = await eventually(probe, limit=60, what=f"pod {name} Running with an IP")
    return result


async def gone(kc: str, name: str, ns: str = "default") -> None:
    await kubectl(kc, "delete", "pod", name, "-n", ns, "--timeout=60s")
    assert await get_json(kc, "pod", name, "-n", ns) is None


MODES = {
    "vpg-dhcp": ("C8000V", None, None, "192.168.1.0/24"),
    "vpg-static": (
        "C8000V",
        XEInterface(type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=False)),
        "192.168.1.0/24",
        "192.168.1.0/24",
    ),
    "appgig-trunk": (
        "C9300",
        XEInterface(
            type=InterfaceType.APP_GIGABIT_ETHERNET,
            app_gigabit_ethernet=AppGigabitEthernetIf(mode=AppGigMode.TRUNK, vlan_if=VlanIf(dhcp=True, vlan=200)),
        ),
        None,
        "10.200.0.0/24",
    ),
    "appgig-access-static": (
        "C9300",
        XEInterface(
            type=InterfaceType.APP_GIGABIT_ETHERNET,
            app_gigabit_ethernet=AppGigabitEthernetIf(mode=AppGigMode.ACCESS, vlan_if=VlanIf(dhcp=False, vlan=200)),
        ),
        "10.200.0.0/24",
        "10.200.0.0/24",
    ),
    "management": (
        "C8000V",
        XEInterface(type=InterfaceType.MANAGEMENT, management=ManagementIf(dhcp=True)),
        None,
        "10.0.0.0/24",
    ),
    "vpg-static-ipv6": (
        "C8000V",
        XEInterface(
            type=InterfaceType.VIRTUAL_PORT_GROUP, virtual_port_group=VirtualPortGroupIf(dhcp=False, interface="0")
        ),
        "fd00:10::/64",
        "fd00:10::/64",
    ),
}


@pytest.mark.parametrize("mode", list(MODES))
async def test_addressing_mode_runs_with_the_right_ip_and_delete_leaves_nothing(
    mode: str, kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle]
) -> None:
    platform, iface, cidr, net = MODES[mode]
    sim = iosxe_sim_factory(platform=platform, files=FILES)
    kc = str(kubeapi.kubeconfig)
    node = f"xe-{mode}"
    async with daemon(xe_spec(sim, iface, pod_cidr=cidr), fast_opts(node, kc)):
        n = await get_json(kc, "node", node)
        assert (condition(n, "Ready") or {}).get("status") == "True"
        assert n is not None and n["status"]["capacity"]["cpu"] == f"{sim.state.platform.cpu_units}m"
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("web", node))
        p = await running_pod(kc, "web")
        assert ipaddress.ip_address(p["status"]["podIP"]) in ipaddress.ip_network(net)
        app_id = naming.app_id("web", p["metadata"]["uid"], "app")
        assert sim.state.snapshot()[app_id]["state"] == "RUNNING"
        assert sim.state.snapshot()[app_id]["ip"] == p["status"]["podIP"]
        await gone(kc, "web")
        assert sim.state.snapshot() == {}
    assert invalid_requests(sim) == []  # every body cisco-vk sent is valid against the YANG models


async def test_multi_container_and_long_names(kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    kc = str(kubeapi.kubeconfig)
    ns, name = "n" * 63, "p" * 200
    await kubectl(kc, "create", "namespace", ns)
    async with daemon(xe_spec(sim), fast_opts("xe-multi", kc)):
        containers = [{"name": "c" * 63, "image": "flash:/hello.tar"}, {"name": "side", "image": "flash:/hello.tar"}]
        await kubectl(kc, "apply", "-f", "-", stdin=manifest(name, "xe-multi", containers, ns=ns))
        p = await running_pod(kc, name, ns)
        assert [c["name"] for c in p["status"]["containerStatuses"]] == ["c" * 63, "side"]
        assert all(c["ready"] for c in p["status"]["containerStatuses"])
        assert len(sim.state.snapshot()) == 2
        await gone(kc, name, ns)
        assert sim.state.snapshot() == {}


async def test_restart_policies_with_a_crashing_app(kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    sim = iosxe_sim_factory(files=FILES)
    kc = str(kubeapi.kubeconfig)
    async with daemon(xe_spec(sim), fast_opts("xe-crash", kc)):
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("always", "xe-crash", policy="Always"))
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("never", "xe-crash", policy="Never"))
        always = await running_pod(kc, "always")
        never = await running_pod(kc, "never")
        # One at a time: IOS-XE reports only its latest app event, which carries the exit code.
        sim.control.crash(naming.app_id("always", always["metadata"]["uid"], "app"), exit_code=137)

        async def restarted() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "always")
            cs = ((p or {}).get("status") or {}).get("containerStatuses") or [{}]
            return p if cs[0].get("restartCount") == 1 and "running" in (cs[0].get("state") or {}) else None

        p = await eventually(restarted, limit=30, what="Always pod restarted")
        assert phase(p) == "Running"
        assert p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 137
        sim.control.crash(naming.app_id("never", never["metadata"]["uid"], "app"), exit_code=2)

        async def failed() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "never")
            return p if phase(p) == "Failed" else None

        p = await eventually(failed, limit=30, what="Never pod Failed")
        term = p["status"]["containerStatuses"][0]["state"]["terminated"]
        assert term["exitCode"] == 2
        assert len(sim.state.snapshot()) == 2  # no duplicate app, the failed one stays for inspection
        await gone(kc, "always")
        await gone(kc, "never")
        assert sim.state.snapshot() == {}


async def test_device_outage_keeps_pods_running_and_recovers(
    kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle]
) -> None:
    sim = iosxe_sim_factory(files=FILES)
    kc = str(kubeapi.kubeconfig)
    async with daemon(xe_spec(sim), fast_opts("xe-out", kc)):
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("app", "xe-out"))
        p = await running_pod(kc, "app")
        uid = p["metadata"]["uid"]
        fault = sim.control.drop(count=None)

        async def node_unreachable() -> bool:
            c = condition(await get_json(kc, "node", "xe-out"), "DeviceReachable")
            return bool(c and c["status"] == "False")

        await eventually(node_unreachable, limit=30, what="node DeviceReachable=False")

        async def pod_marked() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "app")
            c = condition(p, "DeviceReachable")
            return p if c and c["status"] == "False" else None

        p = await eventually(pod_marked, limit=30, what="pod DeviceReachable=False")
        assert phase(p) == "Running" and p["metadata"]["uid"] == uid
        sim.control.remove_fault(fault)

        async def recovered() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "app")
            return p if p and condition(p, "DeviceReachable") is None and phase(p) == "Running" else None

        p = await eventually(recovered, limit=30, what="pod recovered")
        assert p["metadata"]["uid"] == uid
        assert len(sim.state.snapshot()) == 1
        await gone(kc, "app")
        assert sim.state.snapshot() == {}


async def test_cisco_vk_killed_during_activate_resumes_without_duplicates(
    kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    sim = iosxe_sim_factory(files=FILES, delays={"activate": 2.0})
    kc = str(kubeapi.kubeconfig)
    config = tmp_path / "device.yaml"
    config.write_text(
        "device:\n"
        "  driver: XE\n"
        f"  address: {sim.address}\n"
        f"  port: {sim.port}\n"
        f"  username: {sim.username}\n"
        f"  password: {sim.password}\n"
        "  tls:\n"
        "    enabled: true\n"
        f"    caFile: {sim.ca_file}\n"
        "  xe:\n"
        "    networking: {}\n"
    )
    proc = CvkProcess(config, kc, "xe-kill", tmp_path / "cisco-vk.log")
    proc.start()
    try:

        async def node_ready() -> bool:
            return (condition(await get_json(kc, "node", "xe-kill"), "Ready") or {}).get("status") == "True"

        await eventually(node_ready, limit=30, what="node Ready")
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("web", "xe-kill"))

        def activating() -> bool:
            return any(r["method"] == "POST" and "activate" in json.dumps(r["body"]) for r in sim.requests())

        await eventually(activating, limit=30, what="activate sent")
        proc.kill()  # cisco-vk dies while the device is still activating
        proc.start()
        p = await running_pod(kc, "web")
        app_id = naming.app_id("web", p["metadata"]["uid"], "app")
        assert list(sim.state.snapshot()) == [app_id]
        installs = [r for r in sim.requests() if r["method"] == "POST" and '"install"' in json.dumps(r["body"])]
        assert len(installs) == 1
        assert p["status"]["containerStatuses"][0].get("restartCount", 0) == 0
        # The restarted cisco-vk adopts the app: no update of an unchanged pod, no event saying so.
        events = json.loads(await kubectl(kc, "get", "events", "-o", "json"))["items"]
        reasons = [e["reason"] for e in events if e["involvedObject"]["name"] == "web"]
        assert "ProviderUpdateSuccess" not in reasons and reasons.count("ProviderCreateSuccess") == 1, reasons
        await gone(kc, "web")
        assert sim.state.snapshot() == {}
    finally:
        rc = proc.terminate()
    assert rc == 0
    assert invalid_requests(sim) == []


async def test_kubectl_logs_and_top_through_the_node(kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle]) -> None:
    from cvk.config.spec import GnoiConfig

    sim = iosxe_sim_factory(files=FILES, grpc=True)
    kc = str(kubeapi.kubeconfig)
    spec = xe_spec(sim, gnoi=GnoiConfig(port=sim.grpc_port, transport_security="tls"))
    async with daemon(spec, fast_opts("xe-logs", kc, client_ca_file=str(kubeapi.client_ca_cert_file))):
        await kubectl(kc, "apply", "-f", "-", stdin=manifest("web", "xe-logs"))
        p = await running_pod(kc, "web")
        app_id = naming.app_id("web", p["metadata"]["uid"], "app")
        for i in range(3):
            sim.state.add_log(app_id, f"served request {i}")
        out = await kubectl(kc, "logs", "web")
        assert "served request 2" in out
        tail = await kubectl(kc, "logs", "web", "--tail=1")
        assert tail.strip().endswith("served request 2") and len(tail.splitlines()) == 1

        async def top() -> str:
            out = await kubectl(kc, "top", "pod", "web", check=False)
            return out if "web" in out else ""

        assert "MEMORY" in await eventually(top, limit=30, what="kubectl top pod")
        metrics = await kubectl(kc, "get", "--raw", "/api/v1/nodes/xe-logs/proxy/metrics")
        assert 'cisco_vk_device_requests_total{code="200",method="GET",transport="restconf"}' in metrics
        assert 'cisco_vk_device_request_duration_seconds_bucket{' in metrics
        await gone(kc, "web")
    # The log copies on the device are removed after each read.
    assert not [f for f in sim.state.files if "log" in f]


async def test_registry_image_fails_the_pod_with_a_clear_message(
    kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle]
) -> None:
    sim = iosxe_sim_factory(files=FILES)
    kc = str(kubeapi.kubeconfig)
    async with daemon(xe_spec(sim), fast_opts("xe-img", kc)):
        await kubectl(
            kc, "apply", "-f", "-", stdin=manifest("bad", "xe-img", [{"name": "app", "image": "nginx:latest"}])
        )

        async def refused() -> dict[str, Any] | None:
            p = await get_json(kc, "pod", "bad")
            return p if ((p or {}).get("status") or {}).get("reason") == "ProviderFailed" else None

        p = await eventually(refused, limit=30, what="pod ProviderFailed")
        assert phase(p) == "Pending"  # restartPolicy Always: Pending with the reason (Failed for Never)
        assert "nginx:latest" in p["status"]["message"] and "flash:" in p["status"]["message"]
        assert sim.state.snapshot() == {}
        assert [r for r in sim.requests() if r["method"] != "GET"] == []


async def test_startup_removes_our_orphans_and_never_touches_foreign_apps(
    kubeapi: Any, iosxe_sim_factory: Callable[..., SimHandle]
) -> None:
    from cvk.driver.xe.driver import XEDriver

    sim = iosxe_sim_factory(files=FILES)
    # A previous cisco-vk ran a pod the API no longer has, and someone else hosts their own app.
    earlier = XEDriver(xe_spec(sim))
    await earlier.connect()
    orphan = {
        "metadata": {"namespace": "default", "name": "orphan", "uid": "0b6c2d1e-0000-4000-8000-000000000001"},
        "spec": {"containers": [{"name": "app", "image": "flash:/hello.tar"}]},
    }
    await earlier.create_pod(orphan)
    orphan_app = naming.app_id("orphan", orphan["metadata"]["uid"], "app")
    await eventually(lambda: sim.state.snapshot().get(orphan_app, {}).get("state") == "RUNNING", what="orphan up")
    await earlier.close()
    sim.state.set_app_config("their_app", {"application-name": "their_app"})
    sim.call(sim.state.install("their_app", "flash:/hello.tar"))
    kc = str(kubeapi.kubeconfig)
    async with daemon(xe_spec(sim), fast_opts("xe-orphans", kc)):
        await eventually(lambda: orphan_app not in sim.state.snapshot(), limit=30, what="orphan removed")
        assert list(sim.state.snapshot()) == ["their_app"]
    assert not [r for r in sim.requests() if "their_app" in r["path"] or "their_app" in json.dumps(r["body"])]
