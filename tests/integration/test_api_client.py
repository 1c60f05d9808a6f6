"""The HTTP client against a real loopback server: retries, Retry-After, budget, credentials."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from pipelines.errors import SourceError
from pipelines.sources.api.client import ApiClient, Budget, auth_headers, backoff, retry_after
from tests.integration.vendor_api import ok, serve

TOKEN = "s3cr3t-Token-4711"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setenv("CX_HTTP_BACKOFF_SECONDS", "0.01")


def client(server: HTTPServer, budget: float = 10.0, auth: dict | None = None, timeout: float = 5.0) -> ApiClient:
    return ApiClient("vendor", server.url_for("/"), auth or {}, Budget(budget), timeout_seconds=timeout,
                     rng=random.Random(1))


def body_ok(request):
    return ok({"reviews": [{"id": "r1"}]})


def test_429_with_retry_after_seconds_waits_that_long_then_succeeds(server):
    endpoint = serve(server, "/reviews", body_ok, {1: ("429", "1")})
    started = time.monotonic()
    with client(server) as api:
        url, body = api.get_json(server.url_for("/reviews"), {"page": 1})
    assert body == {"reviews": [{"id": "r1"}]}
    assert url == server.url_for("/reviews") + "?page=1"
    assert len(endpoint.requests) == 2
    assert time.monotonic() - started >= 1.0  # the server asked for 1 s; the backoff alone is ≤ 0.01 s


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert retry_after("120", now) == 120.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 30.0
    assert retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0.0  # already past: no wait
    assert retry_after("soon", now) is None and retry_after(None, now) is None


def test_429_with_an_http_date_in_the_past_retries_at_once(server):
    endpoint = serve(server, "/reviews", body_ok, {1: ("429", "Wed, 21 Oct 2015 07:28:00 GMT")})
    with client(server) as api:
        assert api.get_json(server.url_for("/reviews"))[1]["reviews"][0]["id"] == "r1"
    assert len(endpoint.requests) == 2


def test_5xx_timeouts_and_truncated_json_are_retried(server, caplog):
    faults = {1: ("500",), 2: ("503",), 3: ("timeout", 0.6), 4: ("truncated",)}
    endpoint = serve(server, "/reviews", body_ok, faults)
    with caplog.at_level(logging.WARNING), client(server, timeout=0.2) as api:
        assert api.get_json(server.url_for("/reviews"))[1] == {"reviews": [{"id": "r1"}]}
    assert len(endpoint.requests) == 5
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert ["HTTP 500" in retries[0], "HTTP 503" in retries[1], "timed out" in retries[2],
            "invalid JSON" in retries[3]] == [True] * 4


def test_a_connection_dropped_mid_body_is_retried():
    """A stdlib server that promises 200 bytes, sends 20 and hangs up, then answers in full."""
    calls = []

    class Dropping(BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append(self.path)
            body = b'{"reviews": [{"id": "r1"}]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(200 if len(calls) == 1 else len(body)))
            self.end_headers()
            self.wfile.write(body[:20] if len(calls) == 1 else body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Dropping)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/reviews"
        with ApiClient("vendor", url, {}, Budget(10), rng=random.Random(1)) as api:
            assert api.get_json(url)[1] == {"reviews": [{"id": "r1"}]}
        assert len(calls) == 2
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_client_error_is_not_retried(server):
    endpoint = serve(server, "/reviews", body_ok, {1: ("status", 404, '{"message": "unknown business unit"}')})
    with client(server) as api, pytest.raises(SourceError, match="HTTP 404: .*unknown business unit"):
        api.get_json(server.url_for("/reviews"))
    assert len(endpoint.requests) == 1


def test_the_budget_ends_retries_with_a_clear_message(server, monkeypatch):
    monkeypatch.setenv("CX_HTTP_BACKOFF_SECONDS", "0.2")  # waits of up to 0.2, 0.4, 0.8 s outgrow 0.5 s
    serve(server, "/reviews", body_ok, {n: ("503",) for n in range(1, 100)})
    started = time.monotonic()
    with client(server, budget=0.5) as api, pytest.raises(SourceError) as info:
        api.get_json(server.url_for("/reviews"))
    assert "time budget of 0.5s exhausted" in str(info.value) and "HTTP 503" in str(info.value)
    assert time.monotonic() - started < 2.0


def test_a_retry_after_beyond_the_budget_fails_at_once(server):
    endpoint = serve(server, "/reviews", body_ok, {1: ("429", "3600")})
    started = time.monotonic()
    with client(server, budget=5) as api, pytest.raises(SourceError, match="budget of 5s exhausted.*HTTP 429"):
        api.get_json(server.url_for("/reviews"))
    assert len(endpoint.requests) == 1 and time.monotonic() - started < 1.0


def test_backoff_is_exponential_with_full_jitter():
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(60.0, 0.5 * 2 ** (attempt - 1))
        draws = [backoff(attempt, 0.5, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in draws)
        assert max(draws) > 0.8 * ceiling  # jitter spans the range, it is not a fixed delay


def test_credentials_come_from_the_environment_and_never_show(server, monkeypatch, caplog):
    monkeypatch.setenv("VENDOR_TOKEN", TOKEN)
    # a vendor that echoes the credential in its error body, after a retry that gets logged
    seen = []

    def echo(request):
        seen.append(request.headers.get("Authorization"))
        return Response(f'{{"error": "token {TOKEN} revoked"}}', status=401)

    serve(server, "/reviews", echo, {1: ("503",)})
    with caplog.at_level(logging.DEBUG), client(server, auth={"type": "bearer", "token_env": "VENDOR_TOKEN"}) as api:
        with pytest.raises(SourceError) as info:
            api.get_json(server.url_for("/reviews"))
    assert seen == [f"Bearer {TOKEN}"]  # the 503 was not echoed; the retry carried the header
    assert "HTTP 401" in str(info.value) and "***" in str(info.value) and TOKEN not in str(info.value)
    assert caplog.records and all(TOKEN not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("auth", "env", "header", "expected"),
    [
        ({"type": "basic", "username_env": "U", "password_env": "P"}, {"U": "ann", "P": "pw"}, "Authorization",
         "Basic YW5uOnB3"),  # base64("ann:pw")
        ({"type": "api_key", "token_env": "K"}, {"K": "k-123"}, "X-API-Key", "k-123"),
        ({"type": "api_key", "token_env": "K", "header": "apikey"}, {"K": "k-123"}, "apikey", "k-123"),
    ],
)
def test_basic_and_api_key_auth_reach_the_server(server, monkeypatch, auth, env, header, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    endpoint = serve(server, "/reviews", body_ok)
    with client(server, auth=auth) as api:
        api.get_json(server.url_for("/reviews"))
    assert endpoint.requests[0].headers.get(header) == expected


def test_a_missing_credential_names_the_variable():
    with pytest.raises(SourceError, match="environment variable NOT_SET_TOKEN \\(token_env\\) is not set"):
        auth_headers({"type": "bearer", "token_env": "NOT_SET_TOKEN"}, environ={})


def test_credentials_are_never_sent_to_another_origin(server):
    endpoint = serve(server, "/reviews", body_ok)
    with client(server) as api, pytest.raises(SourceError, match="refusing to follow"):
        api.get_json("http://198.51.100.7/reviews")
    assert endpoint.requests == []
