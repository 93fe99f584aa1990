"""The shared Deeplake client's timeouts come from ``lakeloop.config``: 3 s connect and 7 s read by
default, ``LAKELOOP_DEEPLAKE_CONNECT_TIMEOUT_S`` / ``LAKELOOP_DEEPLAKE_READ_TIMEOUT_S`` override; checked
on the timeout a request of ``deeplake.client.shared_client`` carries (respx at the network edge).
"""

from __future__ import annotations

import pytest
import respx

from lakeloop import config
from lakeloop.deeplake import client as client_mod
from lakeloop.deeplake.credentials import Credentials

API = "https://api.deeplake.test"
WS = "ws_gaps"
QUERY_URL = f"{API}/workspaces/{WS}/tables/query"


def creds() -> Credentials:
    return Credentials(token="tok-gaps-0123456789", org_id="org-gaps", workspace=WS, api_url=API)


@pytest.fixture
def router():
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
def fresh_shared(monkeypatch):
    monkeypatch.setattr(client_mod, "_shared", None)
    yield
    if client_mod._shared is not None:
        client_mod._shared.close()


def _timeout_of_a_request(router) -> dict:
    route = router.post(QUERY_URL).respond(200, json={"columns": ["n"], "rows": [[1]], "row_count": 1})
    client_mod.shared_client(creds()).query("SELECT 1 AS n")
    return route.calls.last.request.extensions["timeout"]


def test_shared_client_default_timeouts_are_3s_connect_and_7s_read_from_config(router, fresh_shared):
    """With no setting, config gives 3 s connect and 7 s read, and the shared client's requests
    carry exactly those."""
    assert (config.deeplake_connect_timeout_s(), config.deeplake_read_timeout_s()) == (3.0, 7.0)
    assert _timeout_of_a_request(router) == {"connect": 3.0, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_shared_client_timeouts_follow_the_settings(router, fresh_shared, monkeypatch):
    """LAKELOOP_DEEPLAKE_CONNECT_TIMEOUT_S / READ_TIMEOUT_S change the shared client's timeouts."""
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CONNECT_TIMEOUT_S", "0.75")
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_READ_TIMEOUT_S", "12")
    assert _timeout_of_a_request(router) == {"connect": 0.75, "read": 12.0, "write": 12.0, "pool": 12.0}
