"""Kubeconfig loading: precedence, KUBECONFIG merging, in-cluster, TLS material, clear errors."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import pytest
import yaml

from cvk.errors import ConfigError
from cvk.kube import config as kconfig
from cvk.kube.config import load_config

from .helpers import make_pki


def write_kubeconfig(
    path: Path,
    *,
    current: str | None = "main",
    clusters: dict[str, dict[str, Any]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
) -> Path:
    data: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in (clusters or {}).items()],
        "users": [{"name": n, "user": u} for n, u in (users or {}).items()],
        "contexts": [{"name": n, "context": c} for n, c in (contexts or {}).items()],
    }
    if current is not None:
        data["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def simple(path: Path, server: str = "https://10.0.0.1:6443", token: str = "tok", **ctx: Any) -> Path:
    return write_kubeconfig(
        path,
        clusters={"c": {"server": server}},
        users={"u": {"token": token}},
        contexts={"main": {"cluster": "c", "user": "u", **ctx}},
    )


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No KUBECONFIG, an empty HOME, no in-cluster env, a private service-account dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    monkeypatch.setattr(kconfig, "SERVICE_ACCOUNT_DIR", tmp_path / "sa")
    return home


def in_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str = "10.96.0.1") -> Path:
    sa = tmp_path / "sa"
    sa.mkdir(exist_ok=True)
    (sa / "token").write_text("sa-token\n")
    (sa / "ca.crt").write_bytes(make_pki().ca_pem)
    (sa / "namespace").write_text("cvk-system")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return sa


def test_explicit_path_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as err:
        load_config(str(missing))
    assert err.value.field == "kubeconfig"
    assert str(missing) in str(err.value)


def test_explicit_path_wins_over_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: Path) -> None:
    explicit = simple(tmp_path / "explicit.yaml", server="https://explicit:6443")
    monkeypatch.setenv("KUBECONFIG", str(simple(tmp_path / "env.yaml", server="https://env:6443")))
    simple(clean_env / ".kube" / "config", server="https://home:6443")
    in_cluster(monkeypatch, tmp_path)
    cfg = load_config(str(explicit))
    assert cfg.server == "https://explicit:6443"
    assert cfg.token == "tok"
    assert cfg.context == "main"
    assert cfg.namespace == "default"


def test_empty_explicit_path_means_not_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(simple(tmp_path / "env.yaml", server="https://env:6443")))
    assert load_config("").server == "https://env:6443"


def test_kubeconfig_env_wins_over_home_and_in_cluster(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(simple(tmp_path / "env.yaml", server="https://env:6443")))
    simple(clean_env / ".kube" / "config", server="https://home:6443")
    in_cluster(monkeypatch, tmp_path)
    assert load_config().server == "https://env:6443"


def test_home_config_wins_over_in_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: Path) -> None:
    simple(clean_env / ".kube" / "config", server="https://home:6443", namespace="team")
    in_cluster(monkeypatch, tmp_path)
    cfg = load_config()
    assert cfg.server == "https://home:6443"
    assert cfg.namespace == "team"


def test_kubeconfig_list_with_only_missing_files_falls_through(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    simple(clean_env / ".kube" / "config", server="https://home:6443")
    assert load_config().server == "https://home:6443"


def test_kubeconfig_list_merges_first_file_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first = write_kubeconfig(
        tmp_path / "one" / "first.yaml",
        current=None,
        clusters={"shared": {"server": "https://first:6443"}},
        users={"shared-user": {"token": "first-token"}},
        contexts={"a": {"cluster": "shared", "user": "shared-user"}},
    )
    second = write_kubeconfig(
        tmp_path / "two" / "second.yaml",
        current="b",
        clusters={"shared": {"server": "https://second:6443"}, "only2": {"server": "https://only2:6443"}},
        users={"shared-user": {"token": "second-token"}},
        contexts={
            "a": {"cluster": "only2", "user": "shared-user"},
            "b": {"cluster": "shared", "user": "shared-user", "namespace": "ns-b"},
        },
    )
    third = write_kubeconfig(tmp_path / "three.yaml", current="a")
    monkeypatch.setenv("KUBECONFIG", f"{first}:{tmp_path / 'missing.yaml'}:{second}:{third}")
    cfg = load_config()
    # current-context: the first non-empty one (second file); cluster/user "shared": first file wins.
    assert cfg.context == "b"
    assert cfg.server == "https://first:6443"
    assert cfg.token == "first-token"
    assert cfg.namespace == "ns-b"
    # Context "a" is defined in both: the first file's definition wins.
    assert load_config(context="a").server == "https://first:6443"


def test_context_flag_and_unknown_context(tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "kc.yaml",
        clusters={"c1": {"server": "https://one:6443"}, "c2": {"server": "https://two:6443"}},
        users={"u": {"token": "t"}},
        contexts={"main": {"cluster": "c1", "user": "u"}, "other": {"cluster": "c2", "user": "u"}},
    )
    assert load_config(str(path), context="other").server == "https://two:6443"
    with pytest.raises(ConfigError) as err:
        load_config(str(path), context="prod")
    assert "'prod'" in str(err.value) and "main" in str(err.value) and "other" in str(err.value)


def test_no_current_context_is_a_clear_error(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kc.yaml", current=None, clusters={"c": {"server": "https://x"}})
    with pytest.raises(ConfigError, match="no current-context"):
        load_config(str(path))


def test_in_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sa = in_cluster(monkeypatch, tmp_path)
    cfg = load_config()
    assert cfg.server == "https://10.96.0.1:443"
    assert cfg.namespace == "cvk-system"
    assert cfg.ca_file == str(sa / "ca.crt")
    assert cfg.bearer_token() == "sa-token"
    assert cfg.source == "in-cluster"
    assert isinstance(cfg.ssl_context(), ssl.SSLContext)


def test_in_cluster_ipv6_and_token_rotation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sa = in_cluster(monkeypatch, tmp_path, host="fd00::1")
    monkeypatch.setattr(kconfig, "TOKEN_FILE_REREAD_SECONDS", 0.0)
    cfg = load_config()
    assert cfg.server == "https://[fd00::1]:443"
    (sa / "token").write_text("rotated")
    assert cfg.bearer_token() == "rotated"


def test_in_cluster_without_token_names_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sa = in_cluster(monkeypatch, tmp_path)
    (sa / "token").unlink()
    with pytest.raises(ConfigError) as err:
        load_config()
    assert str(sa / "token") in str(err.value)


def test_nothing_found_names_all_four_sources(clean_env: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config()
    msg = str(err.value)
    assert err.value.field == "kubeconfig"
    for source in ("--kubeconfig", "KUBECONFIG", str(clean_env / ".kube" / "config"), "in-cluster"):
        assert source in msg


def test_repr_hides_secrets(tmp_path: Path) -> None:
    cfg = load_config(str(simple(tmp_path / "kc.yaml", token="super-secret-token")))
    assert "super-secret-token" not in repr(cfg)
    assert cfg.bearer_token() == "super-secret-token"


def test_tls_material_inline_and_relative_files(tmp_path: Path) -> None:
    pki = make_pki()
    certs = tmp_path / "cfg" / "certs"
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_bytes(pki.ca_pem)
    (certs / "client.crt").write_bytes(pki.client_cert_pem)
    (certs / "client.key").write_bytes(pki.client_key_pem)
    inline = write_kubeconfig(
        tmp_path / "inline.yaml",
        clusters={
            "c": {
                "server": "https://127.0.0.1:6443",
                "certificate-authority-data": base64.b64encode(pki.ca_pem).decode(),
                "tls-server-name": "kube.test",
            }
        },
        users={
            "u": {
                "client-certificate-data": base64.b64encode(pki.client_cert_pem).decode(),
                "client-key-data": base64.b64encode(pki.client_key_pem).decode(),
            }
        },
        contexts={"main": {"cluster": "c", "user": "u"}},
    )
    cfg = load_config(str(inline))
    assert cfg.ca_data == pki.ca_pem
    assert cfg.client_cert_data == pki.client_cert_pem
    assert cfg.tls_server_name == "kube.test"
    assert "PRIVATE KEY" not in repr(cfg)
    ctx = cfg.ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED

    relative = write_kubeconfig(
        tmp_path / "cfg" / "kc.yaml",
        clusters={"c": {"server": "https://127.0.0.1:6443", "certificate-authority": "certs/ca.crt"}},
        users={
            "u": {
                "client-certificate": "certs/client.crt",
                "client-key": "certs/client.key",
                "tokenFile": "certs/ca.crt",
            }
        },
        contexts={"main": {"cluster": "c", "user": "u"}},
    )
    cfg = load_config(str(relative))
    assert cfg.ca_file == str(certs / "ca.crt")
    assert cfg.client_key_file == str(certs / "client.key")
    assert cfg.token_file == str(certs / "ca.crt")
    assert cfg.ssl_context() is not None


def test_insecure_skip_tls_verify(tmp_path: Path) -> None:
    path = write_kubeconfig(
        tmp_path / "kc.yaml",
        clusters={"c": {"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True}},
        contexts={"main": {"cluster": "c"}},
    )
    cfg = load_config(str(path))
    assert cfg.insecure
    ctx = cfg.ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname


@pytest.mark.parametrize(
    ("cluster", "user", "needle"),
    [
        (
            {"server": "https://x", "certificate-authority-data": "%%%"},
            {},
            "certificate-authority-data is not valid base64",
        ),
        (
            {"server": "https://x", "certificate-authority": "/nonexistent/ca.crt"},
            {},
            "/nonexistent/ca.crt does not exist",
        ),
        ({}, {}, "server is missing"),
        ({"server": "ftp://x"}, {}, "must start with https:// or http://"),
        ({"server": "https://x", "insecure-skip-tls-verify": "yes"}, {}, "must be true or false"),
        ({"server": "https://x"}, {"client-certificate-data": "QUJD"}, "client-key(-data) is missing"),
        ({"server": "https://x"}, {"exec": {"command": "aws"}}, "exec credential plugins are not supported"),
    ],
)
def test_bad_kubeconfig_entries_name_the_field(
    tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any], needle: str
) -> None:
    path = write_kubeconfig(
        tmp_path / "kc.yaml",
        clusters={"c": cluster},
        users={"u": user},
        contexts={"main": {"cluster": "c", "user": "u"}},
    )
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert err.value.field == "kubeconfig"
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_not_yaml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "kc.yaml"
    path.write_text("clusters: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(path))
