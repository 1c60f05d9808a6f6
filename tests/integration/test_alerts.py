"""Failure alerts: the smtp provider's SmtpNotifier delivers to a real loopback SMTP server."""

from __future__ import annotations

import email
import email.policy
import json
import socket

import pytest
from aiosmtpd.controller import Controller

from tests.needs import require_module

require_module("airflow.providers.smtp", "the airflow extra is not installed")

from pipelines.report.alerts import DEFAULT_OPS_EMAIL, failure_notifier  # noqa: E402


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 OK"


class TaskInstance:
    dag_id, task_id, try_number = "cx_nightly", "build_marts", 2


@pytest.fixture
def smtp_connection(monkeypatch):
    """A loopback server and the `smtp_default` Airflow connection pointing at it (plain, no TLS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True}}))
    yield inbox
    controller.stop()


def test_a_failed_task_emails_the_ops_address(smtp_connection, monkeypatch) -> None:
    monkeypatch.setenv("CX_OPS_EMAIL", "ops@example.com")
    notifier = failure_notifier()
    notifier({"ti": TaskInstance(), "run_id": "scheduled__2026-01-15", "exception": ValueError("boom <b>")})
    (envelope,) = smtp_connection.envelopes
    assert envelope.rcpt_tos == ["ops@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "[CX Pipeline] cx_nightly.build_marts failed (scheduled__2026-01-15)"
    html = message.get_body(("html",)).get_content()
    assert "<strong>build_marts</strong>" in html and "try 2" in html
    assert "boom &lt;b&gt;" in html  # the exception text is escaped


def test_the_address_defaults_and_can_be_passed(monkeypatch) -> None:
    monkeypatch.delenv("CX_OPS_EMAIL", raising=False)
    assert failure_notifier().to == DEFAULT_OPS_EMAIL
    notifier = failure_notifier("oncall@example.com", smtp_conn_id="smtp_ops")
    assert (notifier.to, notifier.smtp_conn_id) == ("oncall@example.com", "smtp_ops")
