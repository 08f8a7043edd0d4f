"""The in-process fixture leaves nothing behind: no thread, no listening port, and watch streams that
are open when it stops end cleanly (as a real server's do on shutdown) instead of being cut."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import requests

from hack.kubeapi.fixtures import running_kubeapi


def test_stopping_the_server_ends_open_watches_and_frees_thread_and_port(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with running_kubeapi(tmp_path) as handle:
        port = int(handle.url.rsplit(":", 1)[1])
        watch = requests.get(
            handle.url + "/api/v1/pods",
            params={"watch": "1", "timeoutSeconds": "300", "allowWatchBookmarks": "true"},
            headers={"Authorization": f"Bearer {handle.token}"},
            verify=str(handle.ca_file),
            stream=True,
            timeout=30,
        )
        assert watch.status_code == 200
    try:
        # The stream was ended with its final bookmark and a proper end of the chunked body: reading it
        # to the end raises nothing (a connection cut mid-stream raises ChunkedEncodingError).
        events = [json.loads(line) for line in watch.iter_lines() if line]
        assert events and events[-1]["type"] == "BOOKMARK", events
        leaked = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
        assert leaked == []
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0
    finally:
        watch.close()
