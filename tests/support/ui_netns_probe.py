"""Run inside a network namespace of the test's own (``tests/ui/test_loopback_only.py``): start
``lakeloop ui`` and try it on loopback and on the namespace's other interface.

``python -m tests.support.ui_netns_probe ADDRESS`` prints one JSON object: ``{"loopback": HTTP
status of a GET without the cookie on 127.0.0.1, "other": errno name of a connect to ADDRESS on
the same port, or "connected"}``. ADDRESS must be an address of that namespace's own interface
(the test gives its veth's); nothing here reaches beyond the namespace."""

from __future__ import annotations

import errno
import json
import socket
import sys

from tests.support.ui import start_ui


def probe(address: str) -> dict[str, object]:
    """Start the dashboard, GET / on loopback, connect to ``address`` on its port; stop it."""
    ui = start_ui()
    try:
        with ui.client() as client:
            loopback = client.get("/").status_code
        with socket.socket() as sock:
            sock.settimeout(2)
            code = sock.connect_ex((address, ui.port))
        other = "connected" if code == 0 else errno.errorcode.get(code, str(code))
    finally:
        ui.stop()
    return {"loopback": loopback, "other": other}


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1])))
