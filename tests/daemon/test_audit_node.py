"""Audit of the node side against vk-library.md section 9 (behaviours 1-13): gaps found in review."""

from __future__ import annotations

from cvk.kube import paths
from cvk.node.lease import MAX_UPDATE_RETRIES, LeaseController
from tests.daemon.fakes import FakeClient


async def test_lease_conflicts_with_a_cached_lease_stay_within_five_puts() -> None:
    """Behaviour 13: at most 5 PUT attempts per sync, the optimistic PUT of the cached lease included."""
    client = FakeClient()
    path = paths.leases("kube-node-lease", "n1")
    lc = LeaseController(client, "n1", node_uid=lambda: "u", renew_seconds=10)  # type: ignore[arg-type]
    assert await lc.renew_once()  # created: the lease is now cached
    assert lc.lease is not None
    client.conflicts[path] = 0
    assert await lc.renew_once()  # cache dropped after the failure: GET, then PUT
    client.calls.clear()
    client.conflicts[path] = 100
    assert not await lc.renew_once()
    assert len(client.verbs("PUT")) == MAX_UPDATE_RETRIES
    assert client.verbs("GET")  # a conflict reads the lease again
    client.conflicts[path] = 0
    assert await lc.renew_once()  # cache dropped after the failure: GET, then PUT
    client.calls.clear()
    client.conflicts[path] = 1  # one conflict on the optimistic PUT: GET, then a PUT that works
    assert await lc.renew_once()
    assert [c[0] for c in client.calls] == ["PUT", "GET", "PUT"]
