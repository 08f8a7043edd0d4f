"""A restart the device refuses is explained in the CrashLoopBackOff message (not only in the logs)."""

from __future__ import annotations

from cvk.driver.xe.status import ContainerView, container_status


def test_refused_restart_keeps_the_device_message() -> None:
    view = ContainerView(
        name="app", image="flash:/a.tar", app_id="cvk_a_0123456789abcdef", state="STOPPED",
        restarting=True, backoff_seconds=20, error_reason="RestartFailed",
        error_message="Application is not in a state to be started",
    )
    waiting = container_status(view)["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff"
    assert "Application is not in a state to be started" in waiting["message"]
    plain = container_status(ContainerView(name="app", image="flash:/a.tar", app_id="cvk_a_0123456789abcdef",
                                           state="STOPPED", restarting=True, backoff_seconds=20))
    assert plain["state"]["waiting"]["message"] == "back-off 20s restarting stopped app cvk_a_0123456789abcdef"
