"""What answers on a FAKE pod's declared container ports (for ``kubectl port-forward``).

An HTTP request gets a small ``200 OK`` page naming the pod, container and port (so
``curl localhost:8080`` works through a port-forward); anything else is echoed back until the
client closes. Ports the pod does not declare refuse the connection.
"""

from __future__ import annotations

from typing import Any

HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ")
MAX_HEADER = 64 * 1024


def declared_ports(pod_spec: dict[str, Any]) -> dict[int, str]:
    """containerPort -> container name, for TCP ports of the pod's containers."""
    out: dict[int, str] = {}
    for c in pod_spec.get("containers") or []:
        for p in c.get("ports") or []:
            if str(p.get("protocol") or "TCP").upper() == "TCP" and isinstance(p.get("containerPort"), int):
                out.setdefault(int(p["containerPort"]), str(c.get("name", "")))
    return out


async def serve(reader: Any, writer: Any, banner: str) -> None:
    """Serve one forwarded connection: HTTP answer or echo."""
    first = await reader.read()
    if not first:
        return
    if first.startswith(HTTP_METHODS):
        request = first
        while b"\r\n\r\n" not in request and len(request) < MAX_HEADER:
            more = await reader.read()
            if not more:
                break
            request += more
        head = request.split(b"\r\n", 1)[0].decode(errors="replace")
        body = f"{banner}\nrequest: {head}\n".encode()
        include_body = not request.startswith(b"HEAD ")
        response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + (body if include_body else b""))
        await writer.write(response)
        return
    await writer.write(first)
    while True:
        chunk = await reader.read()
        if not chunk:
            return
        await writer.write(chunk)
