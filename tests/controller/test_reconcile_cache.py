"""Read-your-writes over the informer caches: the reconciler prefers its own last write while the
cache still shows an older version, and never lets a remembered write mask a deletion."""

from __future__ import annotations

from typing import Any

from controller.reconcile import ControllerOptions, DeviceReconciler

PATH = "/apis/apps/v1/namespaces/lab/deployments/sw1-vk"


class NoClient:
    async def get(self, path: str, params: Any = None) -> Any:
        raise AssertionError(f"read {path} from the API although the cache knows it")


def _obj(rv: str | None) -> dict[str, Any] | None:
    return None if rv is None else {"metadata": {"name": "sw1-vk", "resourceVersion": rv}}


def _reconciler(cache: dict[str, Any]) -> DeviceReconciler:
    return DeviceReconciler(NoClient(), recorder=None, opts=ControllerOptions(),  # type: ignore[arg-type]
                            devices_on_node=lambda _n: [], cache=lambda p: (True, cache.get(p)))


async def _rv(r: DeviceReconciler) -> str | None:
    got = await r._get_or_none(PATH)
    return None if got is None else str(got["metadata"]["resourceVersion"])


async def test_own_writes_win_while_the_cache_lags() -> None:
    cache: dict[str, Any] = {}
    r = _reconciler(cache)
    r._wrote(PATH, None, _obj("2"))  # created
    assert await _rv(r) == "2"  # the cache has not seen the create yet
    cache[PATH] = _obj("2")
    r._wrote(PATH, "2", _obj("3"))  # then updated twice in a row
    r._wrote(PATH, "3", _obj("4"))
    assert await _rv(r) == "4"
    cache[PATH] = _obj("3")
    assert await _rv(r) == "4"  # still behind
    cache[PATH] = _obj("4")
    assert await _rv(r) == "4"
    cache[PATH] = _obj("9")  # someone else wrote after us: the cache wins from now on
    assert await _rv(r) == "9"
    cache[PATH] = _obj("3")  # (an old version can no longer come back, this only proves it is forgotten)
    assert await _rv(r) == "3"


async def test_a_deletion_seen_by_the_cache_is_never_masked() -> None:
    cache: dict[str, Any] = {}
    r = _reconciler(cache)
    r._wrote(PATH, None, _obj("2"))
    assert await _rv(r) == "2"
    r.observed(PATH, None)  # the informer saw it deleted (before or after seeing the create)
    assert await _rv(r) is None


async def test_observing_the_written_version_forgets_it() -> None:
    cache: dict[str, Any] = {PATH: _obj("2")}
    r = _reconciler(cache)
    r._wrote(PATH, "2", _obj("3"))
    r.observed(PATH, _obj("2"))  # an older event: keep remembering
    assert await _rv(r) == "3"
    r.observed(PATH, _obj("3"))
    assert PATH not in r._written
