"""Resource profile ranges, quantities, images and the static allocator."""

from __future__ import annotations

import pytest

from cvk.config.spec import ResourceLimits
from cvk.driver.xe import quantity
from cvk.driver.xe.image import validate_image
from cvk.driver.xe.ipam import StaticAllocator
from cvk.driver.xe.resources import profile_for
from cvk.errors import InvalidInput


def _c(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None) -> dict[str, object]:
    return {"name": "a", "resources": {"requests": requests or {}, "limits": limits or {}}}


@pytest.mark.parametrize(
    ("text", "millis", "mib"),
    [("250m", 250, 1), ("1", 1000, 1), ("1.5", 1500, 1), ("512Mi", 512 * 2**20 * 1000, 512), ("1G", 10**12, 954)],
)
def test_quantities(text: str, millis: int, mib: int) -> None:
    assert quantity.to_millis(text, "f") == millis
    assert quantity.to_mib(text, "f") == mib


def test_bad_quantity_names_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"spec.x: 'lots'"):
        quantity.parse("lots", "spec.x")


def test_profile_defaults_and_mapping() -> None:
    p = profile_for(_c(), 0, None)
    assert (p.cpu_units, p.memory_mb, p.disk_mb, p.vcpu) == (1000, 512, 1024, 1)
    p = profile_for(_c({"cpu": "300m", "memory": "100Mi", "ephemeral-storage": "1Gi"}, {"cpu": "2500m"}), 0, None)
    assert (p.cpu_units, p.memory_mb, p.disk_mb, p.vcpu) == (300, 100, 1024, 3)
    p = profile_for(_c(limits={"cpu": "2", "memory": "256Mi"}), 0, None)
    assert (p.cpu_units, p.memory_mb, p.vcpu) == (2000, 256, 2)


@pytest.mark.parametrize(
    ("container", "field"),
    [
        (_c({"cpu": "21"}), r"spec.containers\[3\].resources.requests.cpu.*cpu-units at most 20000"),
        (_c({"memory": "17Gi"}), r"requests.memory.*memory-capacity-mb at most 16384"),
        (_c({"ephemeral-storage": "70Gi"}), r"requests.ephemeral-storage.*disk-size-mb"),
    ],
)
def test_out_of_range_values_are_refused_before_sending(container: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        profile_for(container, 3, None)


def test_device_maximums_are_enforced_and_defaults_are_checked_too() -> None:
    with pytest.raises(InvalidInput, match="maxMemory"):
        profile_for(_c({"memory": "2Gi"}), 0, ResourceLimits(max_memory="1Gi"))
    with pytest.raises(InvalidInput, match=r"resourceLimits.defaultCPU"):
        profile_for(_c(), 0, ResourceLimits(default_cpu="50"))


@pytest.mark.parametrize(
    "image",
    [
        "flash:/hello.tar",
        "bootflash:apps/x.tar",
        "harddisk:/a.tar",
        "usbflash0:/a.tar",
        "https://h/p/a.tar",
        "http://h/a.tar",
    ],
)
def test_installable_images(image: str) -> None:
    assert validate_image(image, "f") == image


@pytest.mark.parametrize(
    "image",
    ["nginx:latest", "docker.io/library/nginx", "flash:", "flash:/dir/", "flash:/../etc", "https://", "ftp://h/a", ""],
)
def test_uninstallable_images_fail_with_a_clear_message(image: str) -> None:
    with pytest.raises(InvalidInput, match=r"spec.containers\[0\].image.*(flash:|URL)"):
        validate_image(image, "spec.containers[0].image")


def test_allocator_unique_gateway_and_recovery() -> None:
    a = StaticAllocator("10.9.0.0/24")
    assert a.gateway == "10.9.0.1" and a.netmask == "255.255.255.0"
    ips = [a.allocate(f"app{i}").ip for i in range(20)]
    assert len(set(ips)) == 20 and "10.9.0.1" not in ips
    assert a.allocate("app3").ip == ips[3]  # stable per app
    # After a restart the device's configs are the memory: same address for the same app,
    # and addresses of other (even foreign) apps are never handed out again.
    b = StaticAllocator("10.9.0.0/24")
    b.observe({"app3": ips[3], "foreign": "10.9.0.2"})
    assert b.allocate("app3").ip == ips[3]
    fresh = b.allocate("new")
    assert fresh.ip not in (ips[3], "10.9.0.2", "10.9.0.1")


def test_allocator_release_and_exhaustion() -> None:
    a = StaticAllocator("10.9.0.0/29", gateway="10.9.0.6")
    got = [a.allocate(f"a{i}").ip for i in range(5)]
    assert "10.9.0.6" not in got
    with pytest.raises(InvalidInput, match=r"podCIDR.*no free address"):
        a.allocate("one-too-many")
    a.release("a0")
    assert a.allocate("again").ip == got[0]


def test_allocator_refuses_bad_cidrs() -> None:
    for cidr, msg in (("nope", "not a CIDR"), ("fd00::/126", "/125 or larger"), ("10.0.0.0/30", "/29 or larger")):
        with pytest.raises(InvalidInput, match=msg):
            StaticAllocator(cidr)
    with pytest.raises(InvalidInput, match="not an IPv6 address"):
        StaticAllocator("fd00::/64", gateway="10.0.0.1")


def test_ipv6_allocator_hands_out_unique_addresses_with_prefix_and_gateway() -> None:
    alloc = StaticAllocator("fd00:10::/64")
    a, b = alloc.allocate("app_a"), alloc.allocate("app_b")
    assert (a.ip, b.ip) == ("fd00:10::2", "fd00:10::3")  # ::1 is the gateway
    assert a.ipv6 and a.prefix_len == 64 and a.gateway == "fd00:10::1" and a.netmask == ""
    assert alloc.allocate("app_a") == a
    alloc.use_gateway("fd00:10::fe")
    alloc.observe({"app_a": "fd00:10::2", "foreign": "fd00:10::4"})
    assert alloc.allocate("app_c").ip == "fd00:10::1"  # the old gateway address is free now; ::3 stays app_b's
