"""Leader election: of two controllers only the Lease holder reconciles; when it stops (releasing
the Lease) the other one takes over."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from controller.leader import LeadershipLost
from cvk.kube import paths
from cvk.kube.client import KubeClient
from cvk.kube.config import load_config

from .harness import (
    SYSTEM_NS,
    Cluster,
    RunningManager,
    api_writes,
    eventually,
    fake_device,
    manager_options,
    start_manager,
)


def _non_lease_writes(running: RunningManager) -> dict[tuple[str, str], int]:
    return {k: v for k, v in api_writes(running.client, include_events=True).items() if k[1] != "leases"}


async def test_only_the_leader_reconciles_and_the_other_takes_over(kubeapi: Any) -> None:
    client = KubeClient(load_config(str(kubeapi.kubeconfig)), max_retries=1, retry_base_delay=0.01)
    cluster = Cluster(client)
    managers: list[RunningManager] = []
    try:
        await cluster.install()
        await cluster.secret()
        opts = manager_options(str(kubeapi.kubeconfig), leader_elect=True)
        first = await start_manager(opts, wait_ready=True)
        managers.append(first)
        second = await start_manager(opts, wait_ready=False)
        managers.append(second)
        lease = await client.get(paths.leases(SYSTEM_NS, opts.lease_name))
        assert first.manager.elector is not None and second.manager.elector is not None
        assert lease["spec"]["holderIdentity"] == first.manager.elector.identity

        await cluster.create_device(fake_device("sw1"))
        await eventually(lambda: cluster.deployment("sw1"), what="the leader to create the Deployment")
        # The follower has been trying for the Lease all along, and wrote nothing else.
        await eventually(lambda: second.client.metrics.get(("get", "leases"), 0) >= 3, what="follower retries")
        assert not second.manager.ready and second.manager.reconciler is None
        assert _non_lease_writes(second) == {}
        assert _non_lease_writes(first).get(("create", "deployments")) == 1

        # The leader stops and releases the Lease: the follower takes over and reconciles.
        await first.shutdown()
        managers.remove(first)
        assert first.task.done() and first.task.exception() is None
        await eventually(lambda: second.manager.ready, within=10, what="the follower to lead")
        lease = await client.get(paths.leases(SYSTEM_NS, opts.lease_name))
        assert lease["spec"]["holderIdentity"] == second.manager.elector.identity
        assert int(lease["spec"]["leaseTransitions"]) >= 1
        await cluster.create_device(fake_device("sw2"))
        await eventually(lambda: cluster.deployment("sw2"), what="the new leader to create a Deployment")
        assert _non_lease_writes(second).get(("create", "deployments")) == 1
    finally:
        for running in managers:
            with contextlib.suppress(Exception):
                await running.shutdown()
        await client.close()


async def test_a_leader_that_cannot_renew_stops_reconciling(kubeapi: Any) -> None:
    client = KubeClient(load_config(str(kubeapi.kubeconfig)), max_retries=1, retry_base_delay=0.01)
    cluster = Cluster(client)
    try:
        await cluster.install()
        running = await start_manager(manager_options(str(kubeapi.kubeconfig), leader_elect=True))
        # The API server refuses the leader's renewals (as in a partition): after the lease
        # duration it gives up rather than risk running beside a new leader.
        kubeapi.server.deny("*:update:leases")
        try:
            await eventually(lambda: running.task.done(), within=15, what="the leader to give up")
        finally:
            kubeapi.server.clear_deny()
        assert isinstance(running.task.exception(), LeadershipLost)
        assert "lost leadership" in str(running.task.exception())
        assert not running.manager.ready
    finally:
        await client.close()



async def test_a_lease_left_by_a_dead_leader_is_taken_once_expired(kubeapi: Any) -> None:
    client = KubeClient(load_config(str(kubeapi.kubeconfig)), max_retries=1, retry_base_delay=0.01)
    cluster = Cluster(client)
    running: RunningManager | None = None
    try:
        await cluster.install()
        opts = manager_options(str(kubeapi.kubeconfig), leader_elect=True)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        await client.create(paths.leases(SYSTEM_NS), {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": opts.lease_name, "namespace": SYSTEM_NS},
            "spec": {"holderIdentity": "crashed-replica", "leaseDurationSeconds": 2, "acquireTime": now,
                     "renewTime": now, "leaseTransitions": 4}})
        running = await start_manager(opts, wait_ready=False)
        assert not running.manager.ready  # the lease is still valid at first
        await eventually(lambda: running is not None and running.manager.ready, within=10,
                         what="the lease to expire and be taken")
        lease = await client.get(paths.leases(SYSTEM_NS, opts.lease_name))
        assert running.manager.elector is not None
        assert lease["spec"]["holderIdentity"] == running.manager.elector.identity
        assert lease["spec"]["leaseTransitions"] == 5
    finally:
        if running is not None:
            await running.shutdown()
        await client.close()
