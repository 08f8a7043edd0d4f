"""Where the Kubernetes API is and how to authenticate to it.

``load_config`` follows kubectl's rules, in this order:

1. the explicit ``kubeconfig`` path (``--kubeconfig``), which must exist;
2. ``KUBECONFIG``: a colon-separated list of files, merged like kubectl (for clusters, users and
   contexts the first file defining a name wins; the first non-empty ``current-context`` wins;
   files that do not exist are skipped);
3. ``~/.kube/config``;
4. in-cluster: ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT`` plus the service-account
   token, CA and namespace under /var/run/secrets/kubernetes.io/serviceaccount.

Relative file paths inside a kubeconfig are relative to that kubeconfig's directory. Every problem
raises ``cvk.errors.ConfigError`` with ``field="kubeconfig"`` and a message that names the file and
the offending entry.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from cvk.errors import ConfigError

FIELD = "kubeconfig"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_FILE_REREAD_SECONDS = 60.0


@dataclasses.dataclass
class KubeConfig:
    """Connection settings for one API server. ``token`` and key material never appear in repr."""

    server: str
    ca_data: bytes | None = dataclasses.field(default=None, repr=False)  # PEM
    ca_file: str | None = None
    client_cert_data: bytes | None = dataclasses.field(default=None, repr=False)  # PEM
    client_cert_file: str | None = None
    client_key_data: bytes | None = dataclasses.field(default=None, repr=False)  # PEM
    client_key_file: str | None = None
    token: str | None = dataclasses.field(default=None, repr=False)
    token_file: str | None = None  # re-read periodically (bound service-account tokens rotate)
    insecure: bool = False
    namespace: str = "default"
    tls_server_name: str | None = None
    context: str | None = None  # the kubeconfig context used, None in-cluster
    source: str = ""  # where this came from, for log lines ("/home/u/.kube/config", "in-cluster")
    _token_cache: tuple[float, str] | None = dataclasses.field(default=None, repr=False, compare=False)

    def bearer_token(self) -> str | None:
        """The token to send: ``token_file`` wins when readable (re-read every minute), else ``token``."""
        if self.token_file:
            now = time.monotonic()
            if self._token_cache and now - self._token_cache[0] < TOKEN_FILE_REREAD_SECONDS:
                return self._token_cache[1]
            try:
                value = Path(self.token_file).read_text().strip()
            except OSError:
                value = ""
            if value:
                self._token_cache = (now, value)
                return value
            if self._token_cache:
                return self._token_cache[1]
        return self.token or None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for an https server (None for plain http)."""
        if not self.server.lower().startswith("https://"):
            return None
        try:
            if self.insecure:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            elif self.ca_data or self.ca_file:
                ctx = ssl.create_default_context(
                    cafile=self.ca_file, cadata=self.ca_data.decode("ascii") if self.ca_data else None
                )
            else:
                ctx = ssl.create_default_context()
        except (ssl.SSLError, ValueError, OSError) as err:
            raise ConfigError(FIELD, f"{self.source}: cannot load the certificate authority: {err}") from err
        if self.client_cert_data or self.client_cert_file:
            _load_client_cert(ctx, self)
        return ctx


def _load_client_cert(ctx: ssl.SSLContext, cfg: KubeConfig) -> None:
    # ssl only loads certificates from files: write inline data to a private temp dir, then remove it.
    with tempfile.TemporaryDirectory(prefix="cvk-kube-") as tmp:
        cert_file = cfg.client_cert_file
        key_file = cfg.client_key_file
        if cfg.client_cert_data:
            cert_file = os.path.join(tmp, "client.crt")
            _write_private(cert_file, cfg.client_cert_data)
        if cfg.client_key_data:
            key_file = os.path.join(tmp, "client.key")
            _write_private(key_file, cfg.client_key_data)
        try:
            ctx.load_cert_chain(cert_file or "", key_file)
        except (ssl.SSLError, OSError) as err:
            raise ConfigError(FIELD, f"{cfg.source}: cannot load the client certificate and key: {err}") from err


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def load_config(kubeconfig: str | None = None, context: str | None = None) -> KubeConfig:
    """The API connection settings, from the first source that exists (see the module docstring)."""
    tried: list[str] = []
    if kubeconfig:  # an empty flag value means "not given"
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise ConfigError(FIELD, f"kubeconfig file not found: {path}; fix the --kubeconfig path or leave it out")
        return _from_files([path], context)
    env = os.environ.get("KUBECONFIG", "")
    if env.strip():
        listed = [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
        existing = [p for p in listed if p.is_file()]
        if existing:
            return _from_files(existing, context)
        tried.append(f"KUBECONFIG={env} (no such file)")
    else:
        tried.append("KUBECONFIG (not set)")
    try:
        home = Path.home() / ".kube" / "config"
    except RuntimeError:  # no HOME and no passwd entry
        home = Path("~/.kube/config")
    if home.is_file():
        return _from_files([home], context)
    tried.append(f"{home} (no such file)")
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if host and port:
        if context:
            raise ConfigError(
                FIELD,
                f"context {context!r} was asked for but no kubeconfig file exists "
                f"(tried {', '.join(tried)}); pass --kubeconfig FILE",
            )
        return _in_cluster(host, port)
    tried.append("in-cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT not set)")
    raise ConfigError(
        FIELD,
        "no Kubernetes API configuration found; tried --kubeconfig (not given), "
        + ", ".join(tried)
        + "; pass --kubeconfig FILE or set KUBECONFIG",
    )


def _in_cluster(host: str, port: str) -> KubeConfig:
    token_file = SERVICE_ACCOUNT_DIR / "token"
    ca_file = SERVICE_ACCOUNT_DIR / "ca.crt"
    try:
        token = token_file.read_text().strip()
    except OSError as err:
        raise ConfigError(
            FIELD, f"in-cluster config: cannot read the service-account token {token_file}: {err.strerror}"
        ) from err
    if not token:
        raise ConfigError(FIELD, f"in-cluster config: the service-account token {token_file} is empty")
    if not ca_file.is_file():
        raise ConfigError(FIELD, f"in-cluster config: the service-account CA {ca_file} does not exist")
    namespace = "default"
    ns_file = SERVICE_ACCOUNT_DIR / "namespace"
    if ns_file.is_file():
        namespace = ns_file.read_text().strip() or "default"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # IPv6 literal
    return KubeConfig(
        server=f"https://{host}:{port}",
        ca_file=str(ca_file),
        token=token,
        token_file=str(token_file),
        namespace=namespace,
        source="in-cluster",
    )


_PATH_FIELDS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigError(FIELD, f"cannot read kubeconfig {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(FIELD, f"kubeconfig {path} is not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(FIELD, f"kubeconfig {path} must be a YAML mapping (kind: Config)")
    return data


def _named_entries(path: Path, data: dict[str, Any], section: str, inner: str) -> list[tuple[str, dict[str, Any]]]:
    items = data.get(section) or []
    if not isinstance(items, list):
        raise ConfigError(FIELD, f"kubeconfig {path}: {section} must be a list")
    out: list[tuple[str, dict[str, Any]]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise ConfigError(FIELD, f"kubeconfig {path}: {section}[{i}] needs a name")
        body = item.get(inner) or {}
        if not isinstance(body, dict):
            raise ConfigError(FIELD, f"kubeconfig {path}: {section}[{item['name']}].{inner} must be a mapping")
        body = dict(body)
        for key in _PATH_FIELDS.get(inner, ()):
            value = body.get(key)
            if isinstance(value, str) and value:
                p = Path(value).expanduser()
                body[key] = str(p if p.is_absolute() else path.parent / p)
        body["__file__"] = str(path)
        out.append((item["name"], body))
    return out


def _merge(
    paths: list[Path],
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, dict[str, Any]], str]:
    clusters: dict[str, dict[str, Any]] = {}
    users: dict[str, dict[str, Any]] = {}
    contexts: dict[str, dict[str, Any]] = {}
    current = ""
    for path in paths:
        data = _read_file(path)
        for target, section, inner in (
            (clusters, "clusters", "cluster"),
            (users, "users", "user"),
            (contexts, "contexts", "context"),
        ):
            for name, body in _named_entries(path, data, section, inner):
                target.setdefault(name, body)  # first file wins, like kubectl
        cc = data.get("current-context")
        if not current and isinstance(cc, str) and cc:
            current = cc
    return clusters, users, contexts, current


def _from_files(paths: list[Path], context: str | None) -> KubeConfig:
    clusters, users, contexts, current = _merge(paths)
    where = ":".join(str(p) for p in paths)
    name = context or current
    if not name:
        raise ConfigError(
            FIELD,
            f"kubeconfig {where} has no current-context; set one (kubectl config use-context) or pass a context",
        )
    ctx = contexts.get(name)
    if ctx is None:
        known = ", ".join(sorted(contexts)) or "none"
        raise ConfigError(FIELD, f"context {name!r} not found in kubeconfig {where} (contexts: {known})")
    cluster_name = ctx.get("cluster")
    if not isinstance(cluster_name, str) or cluster_name not in clusters:
        raise ConfigError(
            FIELD,
            f"kubeconfig {where}: context {name!r} names cluster {cluster_name!r}, which is not defined",
        )
    cluster = clusters[cluster_name]
    user_name = ctx.get("user")
    user: dict[str, Any] = {}
    if user_name:
        if user_name not in users:
            raise ConfigError(
                FIELD, f"kubeconfig {where}: context {name!r} names user {user_name!r}, which is not defined"
            )
        user = users[user_name]
    cref = f"kubeconfig {cluster['__file__']}: clusters[{cluster_name}].cluster"
    uref = f"kubeconfig {user.get('__file__', where)}: users[{user_name}].user"
    server = cluster.get("server")
    if not isinstance(server, str) or not server.strip():
        raise ConfigError(FIELD, f"{cref}.server is missing; set it to the API server URL (https://host:6443)")
    server = server.strip().rstrip("/")
    if not server.lower().startswith(("https://", "http://")):
        raise ConfigError(FIELD, f"{cref}.server {server!r} must start with https:// or http://")
    namespace = ctx.get("namespace")
    cfg = KubeConfig(
        server=server,
        ca_data=_b64(cluster, "certificate-authority-data", cref),
        ca_file=_file(cluster, "certificate-authority", cref),
        client_cert_data=_b64(user, "client-certificate-data", uref),
        client_cert_file=_file(user, "client-certificate", uref),
        client_key_data=_b64(user, "client-key-data", uref),
        client_key_file=_file(user, "client-key", uref),
        token=_str(user, "token", uref),
        token_file=_file(user, "tokenFile", uref),
        insecure=_bool(cluster, "insecure-skip-tls-verify", cref),
        namespace=namespace if isinstance(namespace, str) and namespace else "default",
        tls_server_name=_str(cluster, "tls-server-name", cref),
        context=name,
        source=f"kubeconfig {where} (context {name})",
    )
    has_cert = bool(cfg.client_cert_data or cfg.client_cert_file)
    has_key = bool(cfg.client_key_data or cfg.client_key_file)
    if has_cert != has_key:
        missing = "client-key(-data)" if has_cert else "client-certificate(-data)"
        raise ConfigError(FIELD, f"{uref}: {missing} is missing; a client certificate needs both certificate and key")
    if not (has_cert or cfg.token or cfg.token_file):
        for unsupported in ("exec", "auth-provider"):
            if user.get(unsupported):
                raise ConfigError(
                    FIELD,
                    f"{uref}.{unsupported} credential plugins are not supported; "
                    "use a token, tokenFile or client certificate",
                )
    return cfg


def _str(section: dict[str, Any], key: str, ref: str) -> str | None:
    value = section.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(FIELD, f"{ref}.{key} must be a string")
    return value


def _bool(section: dict[str, Any], key: str, ref: str) -> bool:
    value = section.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(FIELD, f"{ref}.{key} must be true or false")
    return value


def _b64(section: dict[str, Any], key: str, ref: str) -> bytes | None:
    value = _str(section, key, ref)
    if value is None:
        return None
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as err:
        raise ConfigError(FIELD, f"{ref}.{key} is not valid base64 ({err})") from err


def _file(section: dict[str, Any], key: str, ref: str) -> str | None:
    value = _str(section, key, ref)
    if value is None:
        return None
    if not Path(value).is_file():
        raise ConfigError(FIELD, f"{ref}.{key}: file {value} does not exist")
    return value
