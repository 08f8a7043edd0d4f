"""new_driver picks the implementation; reserved drivers are refused before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from cvk.config.spec import DeviceSpec, DriverName
from cvk.driver.base import Driver
from cvk.driver.factory import check_driver, new_driver
from cvk.driver.fake import FakeDriver, default_state_file, state_file_of
from cvk.errors import ConfigError

from .conftest import make_spec


def test_fake(state_file: Path) -> None:
    driver = new_driver(make_spec(state_file))
    assert isinstance(driver, FakeDriver)
    assert driver.state_file == str(state_file)


def test_xe_is_built_lazily() -> None:
    spec = DeviceSpec(driver=DriverName.XE, address="192.0.2.1", username="admin", password="pw")
    driver = new_driver(spec)
    assert isinstance(driver, Driver)
    assert type(driver).__name__ == "XEDriver"


@pytest.mark.parametrize("name", ["XR", "NXOS", "OPENCONFIG"])
def test_reserved_drivers_are_refused(name: str) -> None:
    spec = DeviceSpec(driver=DriverName(name), address="192.0.2.1", username="admin")
    for call in (check_driver, new_driver):
        with pytest.raises(ConfigError) as err:
            call(spec)
        assert err.value.field == "device.driver"
        assert err.value.message == f"driver {name} is reserved and not implemented; use XE or FAKE"


def test_default_state_file_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_file("192.0.2.1") == str(tmp_path / "cisco-vk" / "fake-192.0.2.1.json")
    assert default_state_file("fe80::1%eth0").endswith("fake-fe80__1_eth0.json")
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_state_file("h") == str(tmp_path / ".local" / "state" / "cisco-vk" / "fake-h.json")
    spec = DeviceSpec(driver=DriverName.FAKE, address="h", username="a")
    assert state_file_of(spec) == FakeDriver(spec).state_file == default_state_file("h")
