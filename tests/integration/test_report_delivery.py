"""Report delivery to a real SMTP server on loopback (aiosmtpd), on DuckDB and PostgreSQL.

Checks what a mail client sees — the MIME tree, every CID reference resolving, each recipient's
cut — and the delivery ledger: a rerun sends nothing, a resend sends again, a failure is retried.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import re
import socket
import ssl
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from pipelines.config import PipelineConfig, Settings, SourceConfig
from pipelines.report import deliver
from pipelines.report.smtp import DeliveryError, SmtpServer
from pipelines.warehouse.db import make_engine, migrate
from tests.dimensions import add_dimension_members

DAY = date(2026, 1, 15)  # a Thursday
RECIPIENTS = """\
recipients:
  - {email: exec@example.com, name: Executive team}
  - {email: digest@example.com, name: CX leads, kind: weekly, weekday: thursday}
  - {email: friday@example.com, name: Friday people, kind: weekly, weekday: friday}
  - {email: leeds@example.com, name: Leeds store, filters: {location: leeds}}
  - {email: york@example.com, name: York store, filters: {location: york}}
"""


class Inbox:
    """An aiosmtpd handler that keeps every message; `refuse` holds replies to give instead of 250."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.refuse: dict[str, list[str]] = {}

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        for rcpt in envelope.rcpt_tos:
            replies = self.refuse.get(rcpt)
            if replies:
                return replies.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


@pytest.fixture
def setup(tmp_path: Path, warehouse_url: str):
    config_path = tmp_path / "config" / "sources.yml"
    config_path.parent.mkdir()
    (config_path.parent / "recipients.yml").write_text(RECIPIENTS)
    config = PipelineConfig(path=config_path, timezone=ZoneInfo("Europe/London"), brand="Acme", competitors=(),
                            sources=(SourceConfig("trustpilot", "review", "trustpilot_json", path="p"),))
    engine = make_engine(warehouse_url)
    migrate(engine)
    kpis = [(DAY - timedelta(days=d), seg, val, nps) for d in (0, 7, 14)
            for seg, val, nps in (("all", "all", 20.0 + d), ("location", "leeds", -40.0), ("location", "york", 60.0))]
    feedback = [("tp:1", "leeds", "Leeds store queue was awful", -0.8), ("tp:2", "york", "York shelves empty", -0.7),
                ("tp:3", "york", "York staff were lovely", 0.9)]
    with engine.begin() as conn:
        conn.execute(sa.text("insert into marts.kpi_daily values (:d, 7, 'nps', :t, :v, :x, 100, :x - 10, :x + 10)"),
                     [{"d": d, "t": t, "v": v, "x": x} for d, t, v, x in kpis])
        add_dimension_members(conn, [{"source": "trustpilot", "family": "review", "feedback_date": DAY,
                                      "location": loc} for _, loc, _, _ in feedback])
        conn.execute(sa.text(
            "insert into marts.fct_feedback (feedback_id, family, source, occurred_at, feedback_date, text, "
            "sentiment_score, sentiment_label, location) values (:id, 'review', 'trustpilot', :at, :d, :text, "
            ":score, :label, :loc)"),
            [{"id": i, "at": datetime(2026, 1, 15, 9, tzinfo=UTC), "d": DAY, "text": text, "score": score,
              "label": "positive" if score > 0 else "negative", "loc": loc} for i, loc, text, score in feedback])
    yield engine, config, tmp_path
    engine.dispose()


def settings_for(tmp_path: Path, smtp_url: str | None) -> Settings:
    return Settings(home=tmp_path / "var", config_path=tmp_path / "config" / "sources.yml", warehouse_url="unused",
                    landing_dir=tmp_path / "landing", smtp_url=smtp_url, pii_key=b"k")


def html_and_images(message: email.message.EmailMessage) -> tuple[str, dict[str, bytes]]:
    related = message.get_payload()[1]
    html = related.get_payload()[0].get_content()
    images = {part["Content-ID"].strip("<>"): part.get_content() for part in related.get_payload()[1:]}
    return html, images


def test_each_recipient_gets_their_cut_once_with_resolving_cids(inbox, setup) -> None:
    handler, url = inbox
    engine, config, tmp_path = setup
    settings = settings_for(tmp_path, url)
    deliveries = deliver(engine, settings, config, DAY)
    assert [(d.recipient.email, d.status) for d in deliveries] == [
        ("exec@example.com", "sent"), ("digest@example.com", "sent"), ("friday@example.com", "not due"),
        ("leeds@example.com", "sent"), ("york@example.com", "sent")]
    assert sorted(r for rcpts, _ in handler.messages for r in rcpts) == [
        "digest@example.com", "exec@example.com", "leeds@example.com", "york@example.com"]
    assert not (tmp_path / "var" / "outbox").exists()  # SMTP configured: no files

    for address in ("exec@example.com", "digest@example.com", "leeds@example.com", "york@example.com"):
        (message,) = handler.to(address)
        assert message.get_content_type() == "multipart/alternative"
        plain, related = message.get_payload()
        assert plain.get_content_type() == "text/plain"
        assert related.get_content_type() == "multipart/related"
        assert [p.get_content_type() for p in related.get_payload()][0] == "text/html"
        html, images = html_and_images(message)
        cids = set(re.findall(r'src="cid:([^"]+)"', html))
        assert cids and cids == set(images)  # every reference resolves, no part goes unused
        assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in images.values())
        assert "<style" not in html and 'style="' in html  # CSS inlined

    leeds_html, _ = html_and_images(handler.to("leeds@example.com")[0])
    leeds_text = handler.to("leeds@example.com")[0].get_payload()[0].get_content()
    for body in (leeds_html, leeds_text):
        assert "Leeds store queue was awful" in body and "-40.0" in body
        assert "York" not in body and "60.0" not in body
    york_html, _ = html_and_images(handler.to("york@example.com")[0])
    assert "York staff were lovely" in york_html and "Leeds" not in york_html
    exec_html, _ = html_and_images(handler.to("exec@example.com")[0])
    assert "Trends" not in exec_html and "Most positive" not in exec_html  # the daily summary is short
    digest_html, _ = html_and_images(handler.to("digest@example.com")[0])
    assert "Trends" in digest_html and "York staff were lovely" in digest_html  # the full digest

    # a rerun sends nothing; a resend sends again; the ledger holds one row per recipient and kind
    assert [d.status for d in deliver(engine, settings, config, DAY)] == [
        "skipped", "skipped", "not due", "skipped", "skipped"]
    assert len(handler.messages) == 4
    deliver(engine, settings, config, DAY, resend=True)
    assert len(handler.messages) == 8
    with engine.connect() as conn:
        ledger = conn.execute(sa.text("select recipient, kind, status from ops.report_deliveries "
                                      "order by recipient")).all()
    assert [tuple(r) for r in ledger] == [
        ("digest@example.com", "weekly", "sent"), ("exec@example.com", "daily", "sent"),
        ("leeds@example.com", "daily:location=leeds", "sent"), ("york@example.com", "daily:location=york", "sent")]


def test_a_transient_refusal_is_retried_and_a_permanent_one_recorded(inbox, setup) -> None:
    handler, url = inbox
    engine, config, tmp_path = setup
    settings = settings_for(tmp_path, url)
    handler.refuse["exec@example.com"] = ["451 4.3.0 try again later"]
    handler.refuse["leeds@example.com"] = ["550 5.1.1 mailbox unavailable"]
    with pytest.raises(DeliveryError, match="leeds@example.com: .*550"):
        deliver(engine, settings, config, DAY)
    assert len(handler.to("exec@example.com")) == 1  # delivered on the second attempt
    assert handler.to("leeds@example.com") == []
    assert len(handler.to("york@example.com")) == 1  # the others still got theirs
    with engine.connect() as conn:
        status = dict(conn.execute(sa.text("select recipient, status from ops.report_deliveries")).all())
    assert status["leeds@example.com"] == "failed" and status["exec@example.com"] == "sent"
    # the next run delivers only what failed
    deliveries = deliver(engine, settings, config, DAY)
    assert [d.status for d in deliveries] == ["skipped", "skipped", "not due", "sent", "skipped"]
    assert len(handler.to("leeds@example.com")) == 1


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_delivery_over_starttls_and_ssl_verifies_the_certificate(setup, monkeypatch, security: str) -> None:
    engine, config, tmp_path = setup
    cert, key = _certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler = Inbox()
    tls = {"tls_context": server_context, "require_starttls": True} if security == "starttls" else {
        "ssl_context": server_context}
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **tls)
    controller.start()
    try:
        url = f"smtp://127.0.0.1:{controller.port}?{security}=1"
        assert SmtpServer.from_url(url).security == security
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts only this certificate
        deliveries = deliver(engine, settings_for(tmp_path, url), config, DAY)
    finally:
        controller.stop()
    assert [d.status for d in deliveries if d.status != "not due"] == ["sent"] * 4
    assert len(handler.messages) == 4


def test_an_untrusted_certificate_is_refused(setup) -> None:
    engine, config, tmp_path = setup
    cert, key = _certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=server_context,
                            require_starttls=True)
    controller.start()
    try:
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            deliver(engine, settings_for(tmp_path, f"smtp://127.0.0.1:{controller.port}?starttls=1"), config, DAY)
    finally:
        controller.stop()
    assert handler.messages == []


@pytest.mark.parametrize(("url", "message"), [
    ("http://host", "expected smtp://"),
    ("smtp://host?tls=1", "unknown option 'tls'"),
    ("smtp://host?ssl=1&starttls=1", "choose one"),
])
def test_a_bad_smtp_url_is_a_config_error(url: str, message: str) -> None:
    from pipelines.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        SmtpServer.from_url(url)


def test_the_password_never_shows() -> None:
    server = SmtpServer.from_url("smtp://user:s%40cret@mail.example:2525?starttls=1")
    assert (server.host, server.port, server.username, server.password) == ("mail.example", 2525, "user", "s@cret")
    assert "s@cret" not in repr(server)
