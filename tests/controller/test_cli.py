"""``cisco-vk controller`` flag checking (before anything connects to a cluster)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from controller.cli import controller_command


@pytest.mark.parametrize(("args", "expected"), [
    (["--vk-resources", "{"], "not JSON"),
    (["--vk-resources", "[1]"], 'expected a JSON object with "requests" and/or "limits"'),
    (["--vk-resources", '{"limit": {}}'], 'expected a JSON object with "requests" and/or "limits"'),
    (["--vk-image-pull-policy", "Sometimes"], "'Sometimes' is not one of"),
])
def test_bad_flags_are_refused_naming_the_flag(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(controller_command, args)
    assert result.exit_code == 2
    assert expected in result.output
    assert "--vk-" in result.output
