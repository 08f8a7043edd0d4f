"""The ``/_sim`` control endpoint (server side) and :class:`SimControl`, its Python client for tests.

Same HTTPS server as RESTCONF, JSON in and out, no basic auth; when the server has a control token,
requests must carry it in ``X-Sim-Token``. Reference (all paths under ``/_sim``):

=========================  =====================================================================
GET    state               apps snapshot, files, platform, hostname, oper-ip-mode, reloading
POST   reset               forget apps, files, leases, faults and recorded requests
POST   faults              add a fault rule (see ``faults.Fault``) -> the rule with its ``id``
GET    faults              the active rules;  DELETE faults: remove all;  DELETE faults/{id}: one
POST   reload              {"seconds": N}: device reload window (connections dropped)
POST   apps/{id}/crash     {"exit_code": 137, "state": "STOPPED"|"ERROR", "reason": "..."}
POST   apps/{id}/log       {"line": "..."}: append an app log line
POST   delays              {"install": s, "activate": s, ...}: IOx operation durations
POST   settings            {"oper_ip_mode": "oper"|"arp", "rpc_error_mode": "result"|"http",
                            "iox_enabled": bool, "hostname": str, "username": str, "password": str}
POST   files               {"path": "bootflash:/x.tar", "text": "..."} or {"data_b64": "..."}
DELETE files?path=P        remove a file
POST   urls                {"url": "...", "fail": bool, "text"/"data_b64": ...}: http(s) packages
GET    requests?since=N    recorded RESTCONF requests after sequence N;  DELETE requests: clear
=========================  =====================================================================
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import requests
from aiohttp import web

from hack.iosxe_sim.faults import Fault
from hack.iosxe_sim.state import ERROR, STOPPED, Delays, OperationFailed

if TYPE_CHECKING:
    from hack.iosxe_sim.server import SimServer

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _ok(body: Any = None, status: int = 200) -> web.Response:
    return web.json_response({"ok": True} if body is None else body, status=status)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError("control requests take a JSON object")
    return body


def _data(body: dict[str, Any]) -> bytes:
    if "data_b64" in body:
        return base64.b64decode(body["data_b64"])
    return str(body.get("text", "")).encode()


def routes(server: SimServer) -> list[web.RouteDef]:
    st = server.state

    def guarded(fn: Handler) -> Handler:
        async def wrapper(request: web.Request) -> web.Response:
            if server.control_token and request.headers.get("X-Sim-Token") != server.control_token:
                return _bad("missing or wrong X-Sim-Token", 403)
            try:
                return await fn(request)
            except (ValueError, TypeError, KeyError, json.JSONDecodeError) as e:
                return _bad(f"{type(e).__name__}: {e}")
            except OperationFailed as e:
                return _bad(str(e), 409)

        return wrapper

    async def get_state(request: web.Request) -> web.Response:
        with st.lock:
            body = {
                "hostname": st.hostname,
                "platform": st.platform.name,
                "apps": st.snapshot(),
                "files": sorted(st.files),
                "oper_ip_mode": st.oper_ip_mode,
                "rpc_error_mode": server.restconf.rpc_error_mode,
                "reloading": st.reloading,
                "iox_enabled": st.iox_enabled,
                "usage": st.usage(),
                "delays": dataclasses.asdict(st.delays),
                "gnoi_services": sorted(st.platform.gnoi_services),
            }
        return _ok(body)

    async def reset(request: web.Request) -> web.Response:
        st.reset()
        server.faults.clear()
        server.recorder.clear()
        server.restconf.rpc_error_mode = "result"
        return _ok()

    async def add_fault(request: web.Request) -> web.Response:
        body = await _json(request)
        fault = server.faults.add(Fault(**body))
        return _ok(fault.to_dict(), 201)

    async def list_faults(request: web.Request) -> web.Response:
        return _ok(server.faults.list())

    async def clear_faults(request: web.Request) -> web.Response:
        server.faults.clear()
        return _ok()

    async def remove_fault(request: web.Request) -> web.Response:
        if not server.faults.remove(int(request.match_info["id"])):
            return _bad("no such fault", 404)
        return _ok()

    async def reload(request: web.Request) -> web.Response:
        body = await _json(request)
        seconds = float(body.get("seconds", 5))
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        st.reload(seconds)
        return _ok()

    async def crash(request: web.Request) -> web.Response:
        body = await _json(request)
        state = str(body.get("state", STOPPED))
        if state not in (STOPPED, ERROR):
            raise ValueError("state must be STOPPED or ERROR")
        st.crash(
            request.match_info["id"],
            int(body.get("exit_code", 137)),
            state=state,
            reason=str(body.get("reason", "crashed")),
        )
        return _ok()

    async def app_log(request: web.Request) -> web.Response:
        body = await _json(request)
        st.add_log(request.match_info["id"], str(body["line"]))
        return _ok()

    async def delays(request: web.Request) -> web.Response:
        body = await _json(request)
        known = {f.name for f in dataclasses.fields(Delays)}
        for k, v in body.items():
            if k not in known:
                raise ValueError(f"unknown delay {k!r}; known: {', '.join(sorted(known))}")
            if float(v) < 0:
                raise ValueError(f"delay {k} must not be negative")
        with st.lock:
            for k, v in body.items():
                setattr(st.delays, k, float(v))
        return _ok(dataclasses.asdict(st.delays))

    async def settings(request: web.Request) -> web.Response:
        body = await _json(request)
        with st.lock:
            if "oper_ip_mode" in body:
                if body["oper_ip_mode"] not in ("oper", "arp"):
                    raise ValueError("oper_ip_mode must be 'oper' or 'arp'")
                st.oper_ip_mode = body["oper_ip_mode"]
            if "rpc_error_mode" in body:
                if body["rpc_error_mode"] not in ("result", "http"):
                    raise ValueError("rpc_error_mode must be 'result' or 'http'")
                server.restconf.rpc_error_mode = body["rpc_error_mode"]
            if "iox_enabled" in body:
                st.iox_enabled = bool(body["iox_enabled"])
            if "hostname" in body:
                st.hostname = str(body["hostname"])
            if "username" in body or "password" in body:
                server.username = str(body.get("username", server.username))
                server.password = str(body.get("password", server.password))
        return _ok()

    async def add_file(request: web.Request) -> web.Response:
        body = await _json(request)
        key = st.add_file(str(body["path"]), _data(body))
        return _ok({"path": key}, 201)

    async def delete_file(request: web.Request) -> web.Response:
        if not st.delete_file(request.query["path"]):
            return _bad("no such file", 404)
        return _ok()

    async def urls(request: web.Request) -> web.Response:
        body = await _json(request)
        url = str(body["url"])
        if not url.startswith(("http://", "https://")):
            raise ValueError("url must be http(s)")
        with st.lock:
            if body.get("fail"):
                st.failing_urls.add(url)
            else:
                st.failing_urls.discard(url)
                st.url_content[url] = _data(body) or b"IOX-PACKAGE " + url.encode()
        return _ok()

    async def get_requests(request: web.Request) -> web.Response:
        return _ok(server.recorder.since(int(request.query.get("since", "0"))))

    async def clear_requests(request: web.Request) -> web.Response:
        server.recorder.clear()
        return _ok()

    table: list[tuple[str, str, Handler]] = [
        ("GET", "/_sim/state", get_state),
        ("POST", "/_sim/reset", reset),
        ("POST", "/_sim/faults", add_fault),
        ("GET", "/_sim/faults", list_faults),
        ("DELETE", "/_sim/faults", clear_faults),
        ("DELETE", "/_sim/faults/{id}", remove_fault),
        ("POST", "/_sim/reload", reload),
        ("POST", "/_sim/apps/{id}/crash", crash),
        ("POST", "/_sim/apps/{id}/log", app_log),
        ("POST", "/_sim/delays", delays),
        ("POST", "/_sim/settings", settings),
        ("POST", "/_sim/files", add_file),
        ("DELETE", "/_sim/files", delete_file),
        ("POST", "/_sim/urls", urls),
        ("GET", "/_sim/requests", get_requests),
        ("DELETE", "/_sim/requests", clear_requests),
    ]
    return [web.route(m, p, guarded(h)) for m, p, h in table]


class SimControlError(RuntimeError):
    pass


class SimControl:
    """Blocking client of ``/_sim`` (the server runs in its own thread or process)."""

    def __init__(self, url: str, ca_file: str, token: str = "", timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._session = requests.Session()
        # requests prefers $REQUESTS_CA_BUNDLE over Session.verify unless verify is given per request
        self._session.trust_env = False
        self.ca_file = ca_file
        if token:
            self._session.headers["X-Sim-Token"] = token
        self.timeout = timeout

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, endpoint: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        r = self._session.request(
            method,
            f"{self.url}/_sim/{endpoint}",
            json=body,
            params=params or None,
            timeout=self.timeout,
            verify=self.ca_file,
        )
        if r.status_code >= 300:
            raise SimControlError(f"{method} /_sim/{endpoint}: {r.status_code} {r.text}")
        return r.json()

    # state
    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "state"))

    def apps(self) -> dict[str, dict[str, Any]]:
        return dict(self.state()["apps"])

    def reset(self) -> None:
        self._call("POST", "reset")

    # faults
    def add_fault(self, kind: str, **fields: Any) -> int:
        return int(self._call("POST", "faults", {"kind": kind, **fields})["id"])

    def latency(self, seconds: float, **match: Any) -> int:
        return self.add_fault("latency", seconds=seconds, **match)

    def fail(self, status: int = 503, count: int | None = 1, **match: Any) -> int:
        return self.add_fault("status", status=status, count=count, **match)

    def unauthorized(self, count: int | None = 1, **match: Any) -> int:
        return self.add_fault("unauthorized", count=count, **match)

    def lock_denied(self, count: int | None = 1, **match: Any) -> int:
        return self.add_fault("lock", count=count, **match)

    def drop(self, count: int | None = 1, **match: Any) -> int:
        return self.add_fault("drop", count=count, **match)

    def faults(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "faults"))

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def remove_fault(self, fault_id: int) -> None:
        self._call("DELETE", f"faults/{fault_id}")

    # device events
    def reload(self, seconds: float) -> None:
        self._call("POST", "reload", {"seconds": seconds})

    def crash(self, app_id: str, exit_code: int = 137, state: str = STOPPED, reason: str = "crashed") -> None:
        self._call("POST", f"apps/{app_id}/crash", {"exit_code": exit_code, "state": state, "reason": reason})

    def app_log(self, app_id: str, line: str) -> None:
        self._call("POST", f"apps/{app_id}/log", {"line": line})

    def set_delays(self, **delays: float) -> dict[str, float]:
        return dict(self._call("POST", "delays", delays))

    def settings(self, **values: Any) -> None:
        self._call("POST", "settings", values)

    def set_credentials(self, username: str, password: str) -> None:
        """Change the RESTCONF login the device accepts (a credential rotation on the device)."""
        self.settings(username=username, password=password)

    def set_oper_ip_mode(self, mode: str) -> None:
        self.settings(oper_ip_mode=mode)

    def add_file(self, path: str, data: bytes = b"IOX-PACKAGE") -> str:
        return str(self._call("POST", "files", {"path": path, "data_b64": base64.b64encode(data).decode()})["path"])

    def delete_file(self, path: str) -> None:
        self._call("DELETE", "files", path=path)

    def set_url(self, url: str, *, fail: bool = False, data: bytes = b"") -> None:
        self._call("POST", "urls", {"url": url, "fail": fail, "data_b64": base64.b64encode(data).decode()})

    # recording
    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return list(self._call("GET", "requests", since=since))

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")
