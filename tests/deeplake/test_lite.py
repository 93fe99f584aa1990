"""LiteClient (lakeloop.deeplake.lite): the standard-library Deeplake client of memory-path
answers, against the Deeplake stand-in on a real PostgreSQL: same contract as DeeplakeClient
(status mapping, retries with backoff and Retry-After, OutcomeUnknown, 402 notice, no token
in errors), one request per statement, and no httpx import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lakeloop.deeplake.credentials import Credentials
from lakeloop.deeplake.lite import LiteClient
from lakeloop.errors import AuthError, NetworkError, OutcomeUnknown, PaymentRequired, PermanentError, TransientError
from tests.support.repo import PLUGIN_SRC


def make(standin, **kw):
    sleeps: list[float] = []
    creds = Credentials(
        token=standin.token, org_id=standin.org_id, workspace=standin.workspace, api_url=standin.base_url
    )
    kw.setdefault("max_retries", 2)
    return LiteClient(creds, sleep=sleeps.append, rand=lambda: 0.5, **kw), sleeps


def test_a_query_is_one_request_with_the_contract_headers(deeplake):
    client, sleeps = make(deeplake)
    assert client.query("SELECT 1 AS one, 'x' AS two") == [{"one": 1, "two": "x"}]
    assert [r.status for r in deeplake.requests] == [200] and sleeps == []
    assert client.query("CREATE TABLE IF NOT EXISTS t1 (a TEXT) USING deeplake") == []


def test_transient_statuses_are_retried_with_backoff_and_retry_after(deeplake):
    deeplake.configure(fail_sequence=[503, 503], retry_after="1")
    client, sleeps = make(deeplake)
    assert client.query("SELECT 2 AS n") == [{"n": 2}]
    assert sleeps == [1.0, 1.0] and len(deeplake.requests) == 3
    deeplake.configure(fail_sequence=[503, 503, 503], retry_after=None)
    deeplake.reset_counters()
    client, sleeps = make(deeplake)
    with pytest.raises(TransientError):
        client.query("SELECT 3")
    assert sleeps == [0.5 + 0.1, 1.0 + 0.1] and len(deeplake.requests) == 3  # 0.5 x 2^n + 0.5 x 0.2 jitter


def test_a_dropped_connection_is_retried_for_a_read_and_unknown_for_an_insert(deeplake):
    client, _ = make(deeplake)
    client.query("CREATE TABLE IF NOT EXISTS t2 (a TEXT) USING deeplake")
    deeplake.configure(drop_sequence=[True])
    assert client.query("SELECT 4 AS n") == [{"n": 4}]
    deeplake.configure(drop_sequence=[True])
    with pytest.raises(OutcomeUnknown):
        client.query("INSERT INTO t2 (a) VALUES ('x')", idempotent=False)


def test_permanent_errors_auth_and_402_are_not_retried_and_hide_the_token(deeplake):
    client, sleeps = make(deeplake)
    deeplake.configure(fail_sequence=[400])
    with pytest.raises(PermanentError):
        client.query("SELECT 1")
    assert len(deeplake.requests) == 1
    notices = []
    deeplake.configure(payment_required=True)
    client = LiteClient(client.creds, sleep=sleeps.append, on_payment_required=lambda: notices.append(1))
    with pytest.raises(PaymentRequired):
        client.query("SELECT 1")
    assert notices == [1] and sleeps == []
    deeplake.configure(payment_required=False)
    bad = Credentials(
        token="tok-" + "s" * 24, org_id=deeplake.org_id, workspace=deeplake.workspace, api_url=deeplake.base_url
    )
    with pytest.raises(AuthError) as caught:
        LiteClient(bad, sleep=sleeps.append).query("SELECT 1")
    assert bad.token not in str(caught.value) and bad.token not in repr(caught.value)


def test_an_unreachable_service_is_a_network_error():
    creds = Credentials(token="t" * 20, org_id="o", workspace="w", api_url="http://127.0.0.1:9")
    with pytest.raises(NetworkError):
        LiteClient(creds, max_retries=1, sleep=lambda s: None).query("SELECT 1")


def test_the_light_path_does_not_import_httpx():
    code = (
        "import sys, lakeloop.store.deeplake, lakeloop.deeplake.lite, lakeloop.memory.answer; "
        "print('httpx' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(PLUGIN_SRC), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert out.strip() == "False"


def test_control_characters_in_credentials_are_refused_without_showing_them():
    creds = Credentials(token="tok-abc\nSECRETPART-9f3e", org_id="o", workspace="w", api_url="http://127.0.0.1:9")
    with pytest.raises(PermanentError) as caught:
        LiteClient(creds)
    assert "SECRETPART" not in str(caught.value)


def test_an_ipv6_url_without_a_port_gets_the_scheme_default():
    for url, port in (("http://[::1]", 80), ("https://[fe80::abcd]/api", 443)):
        client = LiteClient(Credentials(token="t" * 20, org_id="o", workspace="w", api_url=url))
        assert client._port == port and ":" in client._host
