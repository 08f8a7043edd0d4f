"""App IDs and run-opts labels: YANG limits for any pod, unique, deterministic, and mapping back."""

from __future__ import annotations

import re

import pytest

from cvk.driver.xe import naming

UID = "a24a730b-8b13-4fd0-96ee-900f99d87670"


def _cfg(app: str, lines: list[dict[str, object]]) -> dict[str, object]:
    return {"application-name": app, "run-optss": {"run-opts": lines}}


@pytest.mark.parametrize(
    ("name", "container"),
    [("web", "c"), ("a" * 253, "b" * 63), ("my-pod.with.dots", "side-car"), ("0", "x"), ("---", "-")],
)
def test_app_id_fits_the_yang_leaf(name: str, container: str) -> None:
    app = naming.app_id(name, UID, container)
    assert len(app) <= 40
    assert re.fullmatch(r"[0-9a-zA-Z_]{1,40}", app)
    assert naming.is_valid_app_id(app)


def test_app_id_is_deterministic_readable_and_unique() -> None:
    a = naming.app_id("web", UID, "nginx")
    assert a == naming.app_id("web", UID, "nginx")
    assert a.startswith("cvk_web_")
    others = {naming.app_id("web", UID, f"c{i}") for i in range(50)}
    others |= {naming.app_id("web", f"{UID[:-2]}{i:02d}", "nginx") for i in range(50)}
    assert len(others) == 100
    assert a not in {naming.app_id("web", UID, f"c{i}") for i in range(50)}


def test_many_containers_keep_ids_within_limits() -> None:
    ids = [naming.app_id("p" * 100, UID, f"container-{i}") for i in range(40)]
    assert len(set(ids)) == 40
    assert all(len(i) <= 40 for i in ids)


def test_labels_fit_run_opts_lines_and_map_back_for_longest_names() -> None:
    ns, name, container = "n" * 63, "p" * 253, "c" * 63
    lines = naming.pack_lines(naming.label_tokens(ns, name, UID, container))
    assert 1 <= len(lines) <= 30
    assert all(len(str(entry["line-run-opts"])) <= 235 for entry in lines)
    assert [entry["line-index"] for entry in lines] == list(range(1, len(lines) + 1))
    ident = naming.identity_of(_cfg(naming.app_id(name, UID, container), lines))
    assert ident == naming.AppIdentity(namespace=ns, name=name, uid=UID, container=container)


def test_short_labels_share_one_line() -> None:
    lines = naming.pack_lines(naming.label_tokens("default", "web", UID, "nginx"))
    assert len(lines) == 1
    text = str(lines[0]["line-run-opts"])
    assert "--label io.kubernetes.pod.name=web" in text
    assert f"--label io.kubernetes.pod.uid={UID}" in text


def test_lines_are_joined_in_index_order_whatever_the_device_returns() -> None:
    lines = naming.pack_lines(naming.label_tokens("default", "x" * 253, UID, "c"))
    shuffled = list(reversed(lines))
    ident = naming.identity_of(_cfg(naming.app_id("x" * 253, UID, "c"), shuffled))
    assert ident is not None and ident.name == "x" * 253


def test_apps_without_our_labels_are_not_ours() -> None:
    assert naming.identity_of({"application-name": "guestshell"}) is None
    foreign = _cfg("iperf", [{"line-index": 1, "line-run-opts": "--label app=iperf -p 5201:5201"}])
    assert naming.identity_of(foreign) is None


def test_labels_under_a_different_app_id_are_not_ours() -> None:
    lines = naming.pack_lines(naming.label_tokens("default", "web", UID, "nginx"))
    assert naming.identity_of(_cfg("someone_elses_app", lines)) is None


def test_parse_labels_accepts_equals_form_and_ignores_other_options() -> None:
    labels = naming.parse_labels("-e A=1 --label=a.b=c --label x=y=z -p 80:80")
    assert labels == {"a.b": "c", "x": "y=z"}


def test_too_many_lines_is_an_error() -> None:
    with pytest.raises(ValueError, match="30"):
        naming.pack_lines(["-e X=" + "v" * 200] * 31)
