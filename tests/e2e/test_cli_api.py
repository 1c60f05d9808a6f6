"""`cx run` with a `url:` source, as a user runs it: a subprocess against a vendor API on loopback."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cli import ROOT, cx
from tests.e2e.test_cli import env  # noqa: F401 (env is a fixture)

TOKEN = "e2e-Token-5c4b3a"
PAGE = {"reviews": [{"id": f"e{i}", "stars": s, "title": "t", "text": f"review {i}", "language": "en",
                     "createdAt": f"2026-03-10T1{i}:00:00Z", "consumer": {"displayName": f"N{i}"}}
                    for i, s in enumerate([5, 3, 1])], "links": []}


@pytest.fixture
def vendor():
    """A one-page Trustpilot API that wants the bearer token; records the Authorization it got."""
    seen: list[str | None] = []

    class Api(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            data = json.dumps(PAGE if ok else {"message": "Unauthorized"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/business-units/bu1/reviews", seen
    server.shutdown()
    server.server_close()


def config(tmp_path: Path, url: str, auth: str) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(f"timezone: Europe/London\nbrand: Acme\nsources:\n  - name: tp_api\n    family: review\n"
                    f"    format: trustpilot_json\n    url: \"{url}\"\n    auth: {auth}\n")
    shutil.copy(ROOT / "config" / "recipients.yml", tmp_path / "recipients.yml")
    return path


def test_cx_run_pulls_an_api_source_and_fails_it_cleanly_without_its_token(env, tmp_path, vendor):  # noqa: F811
    url, seen = vendor
    path = config(tmp_path, url, "{type: bearer, token_env: TP_E2E_TOKEN}")
    missing = cx(env, "run", "--date", "2026-03-10", "--no-deliver", "--config", str(path), check=False)
    assert missing.returncode == 1 and seen == []
    assert "environment variable TP_E2E_TOKEN (token_env) is not set" in missing.stdout

    done = cx({**env, "TP_E2E_TOKEN": TOKEN}, "run", "--date", "2026-03-10", "--no-deliver", "--config", str(path))
    assert "tp_api: success, 3 in, 3 loaded, 0 quarantined, 0 duplicate" in done.stdout
    assert seen == [f"Bearer {TOKEN}"]

    wrong = cx({**env, "TP_E2E_TOKEN": TOKEN + "x"}, "run", "--date", "2026-03-10", "--no-deliver",
               "--config", str(path), check=False)
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stdout
    for proc in (missing, done, wrong):
        assert TOKEN not in proc.stdout + proc.stderr


def test_a_literal_token_in_sources_yml_exits_2(env, tmp_path, vendor):  # noqa: F811
    path = config(tmp_path, vendor[0], "{type: bearer, token: abc}")
    proc = cx(env, "run", "--date", "2026-03-10", "--config", str(path), check=False)
    assert proc.returncode == 2
    assert f"{path}:8: sources.0.auth.token: unknown key for auth type bearer; secrets come from" in proc.stderr
