"""``cisco-vk controller``: the CiscoDevice controller's command line."""

from __future__ import annotations

import asyncio
import json
import logging
import signal

import click

from controller.leader import LeadershipLost
from controller.manager import ManagerOptions, run
from controller.reconcile import ControllerOptions
from controller.render import RenderOptions


@click.command("controller")
@click.option("--kubeconfig", envvar="KUBECONFIG", default=None,
              help="Kubeconfig file; default: KUBECONFIG, ~/.kube/config, then in-cluster.")
@click.option("--namespace", envvar="POD_NAMESPACE", default="cisco-vk-system", show_default=True,
              help="Namespace of the leader-election Lease.")
@click.option("--vk-image", default="cisco-vk:latest", show_default=True,
              help="Image of the cisco-vk pods the controller creates.")
@click.option("--vk-image-pull-policy", default="IfNotPresent", show_default=True,
              type=click.Choice(["Always", "IfNotPresent", "Never"]),
              help="imagePullPolicy of the cisco-vk pods.")
@click.option("--vk-service-account", default="cisco-vk", show_default=True,
              help="ServiceAccount of the cisco-vk pods (must exist in each device namespace).")
@click.option("--vk-resources", default="", help="JSON resources block for the cisco-vk container.")
@click.option("--leader-elect/--no-leader-elect", default=True, show_default=True,
              help="Run only while holding the leader Lease, so several replicas are safe.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64),
              help="CiscoDevices reconciled in parallel.")
@click.option("--cleanup-timeout", default=120.0, show_default=True, type=click.FloatRange(0),
              help="Seconds to wait for a deleted device's pods (and their apps) to go.")
@click.option("--health-port", default=8081, show_default=True, type=int,
              help="Port of /healthz, /readyz and /metrics (0: any free port, -1: none).")
@click.option("--health-address", default="0.0.0.0", show_default=True,
              help="Address the health and metrics endpoint listens on.")
@click.option("--log-level", envvar="LOG_LEVEL", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warn", "warning", "error"]),
              help="Log level (also LOG_LEVEL), as for cisco-vk run.")
def controller_command(kubeconfig: str | None, namespace: str, vk_image: str, vk_image_pull_policy: str,
                       vk_service_account: str, vk_resources: str, leader_elect: bool, workers: int,
                       cleanup_timeout: float, health_port: int, health_address: str, log_level: str) -> None:
    """Watch CiscoDevices and run one cisco-vk Deployment per device."""
    logging.basicConfig(level=logging.WARNING if log_level in ("warn", "warning") else log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        resources = json.loads(vk_resources) if vk_resources else None
    except ValueError as err:
        raise click.BadParameter(f"not JSON: {err}", param_hint="--vk-resources") from None
    if resources is not None and (not isinstance(resources, dict) or not set(resources) <= {"requests", "limits"}):
        raise click.BadParameter('expected a JSON object with "requests" and/or "limits", e.g. '
                                 '{"limits": {"memory": "256Mi"}}', param_hint="--vk-resources")
    opts = ManagerOptions(
        kubeconfig=kubeconfig, namespace=namespace, leader_elect=leader_elect, workers=workers,
        health_port=health_port, health_address=health_address,
        controller=ControllerOptions(
            render=RenderOptions(image=vk_image, image_pull_policy=vk_image_pull_policy,
                                 service_account=vk_service_account, resources=resources),
            cleanup_timeout_seconds=cleanup_timeout),
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(opts, stop)

    try:
        asyncio.run(main())
    except LeadershipLost as err:
        logging.getLogger("cvk.controller").error("%s", err)
        raise SystemExit(1) from None
