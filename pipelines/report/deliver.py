"""Writing the report out: the web page archive and one email per due recipient.

The web page and the archive index are files replaced in place. Emails go through SMTP when
CX_SMTP_URL is set, else into $CX_HOME/outbox/<D>/<recipient>.eml. Either way the delivery is
recorded in ops.report_deliveries, so a rerun or a backfill never delivers a report twice unless
asked to resend.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from pipelines.config import PipelineConfig, Settings, read_yaml
from pipelines.report.context import CUT_COLUMNS, build_context
from pipelines.report.render import environment, render_email, render_web
from pipelines.report.smtp import DeliveryError, SmtpServer, send

RECIPIENT_KINDS = ("daily", "weekly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# an address that is also a safe file name: no path separators, quotes or spaces
EMAIL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")
REPORT_RE = re.compile(r"^cx_report_(\d{4}-\d{2}-\d{2})\.html$")


@dataclass(frozen=True)
class Recipient:
    """Someone who receives the report by email: a daily executive summary or a weekly digest,
    for the whole business or for one location's or product's cut."""

    email: str
    name: str
    kind: str = "daily"
    weekday: str | None = None
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def cut(self) -> tuple[str, str] | None:
        return self.filters[0] if self.filters else None

    @property
    def description(self) -> str:
        what = f"weekly digest on {self.weekday.capitalize()}s" if self.kind == "weekly" else "daily summary"
        return what + (f" for {self.cut[0]} {self.cut[1]}" if self.cut else "")

    def is_due(self, day: date) -> bool:
        """Daily recipients get every day's report, weekly ones only their weekday's."""
        return self.kind == "daily" or WEEKDAYS[day.weekday()] == self.weekday


@dataclass(frozen=True)
class Delivery:
    """What happened to one recipient's report: sent, written (outbox), skipped (already delivered),
    not due (weekly digest on another day) or failed."""

    recipient: Recipient
    status: str
    message_id: str | None = None
    path: Path | None = None
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.recipient.email} ({self.recipient.description}): {self.status}"


def load_recipients(path: Path) -> list[Recipient]:
    """Parse and check recipients.yml; every problem names the file, the line and the key."""
    doc = read_yaml(path, hint="recipients.yml sits beside sources.yml")
    data, fail = doc.data, doc.error
    if not isinstance(data, dict) or "recipients" not in data:
        raise fail((), "expected a mapping with a 'recipients' list")
    entries = data["recipients"]
    if not isinstance(entries, list) or not entries:
        raise fail(("recipients",), "expected a non-empty list of recipients")
    recipients: list[Recipient] = []
    seen: set[tuple[str, str, tuple]] = set()
    for i, entry in enumerate(entries):
        here = ("recipients", i)
        if not isinstance(entry, dict):
            raise fail(here, "expected a mapping with 'email' and 'name'")
        unknown = sorted(set(entry) - {"email", "name", "kind", "weekday", "filters"})
        if unknown:
            raise fail((*here, unknown[0]), f"unknown key {unknown[0]!r}; expected email, name, kind, weekday, filters")
        for key in ("email", "name"):
            if key not in entry:
                raise fail(here, f"missing required key '{key}'")
            if not isinstance(entry[key], str) or not entry[key].strip():
                raise fail((*here, key), "expected non-empty text")
        address, kind = entry["email"].strip(), entry.get("kind", "daily")
        if not EMAIL_RE.match(address):
            raise fail((*here, "email"), f"{address!r} is not a plain email address")
        if kind not in RECIPIENT_KINDS:
            raise fail((*here, "kind"), f"unknown kind {kind!r}; expected one of {', '.join(RECIPIENT_KINDS)}")
        weekday = entry.get("weekday")
        if kind == "weekly" and weekday is None:
            raise fail(here, "a weekly recipient needs a 'weekday'")
        if weekday is not None:
            if kind != "weekly":
                raise fail((*here, "weekday"), "only a weekly recipient has a weekday")
            if str(weekday).lower() not in WEEKDAYS:
                raise fail((*here, "weekday"), f"unknown weekday {weekday!r}; expected one of {', '.join(WEEKDAYS)}")
            weekday = str(weekday).lower()
        filters = entry.get("filters") or {}
        if not isinstance(filters, dict):
            raise fail((*here, "filters"), f"expected a mapping with one of {', '.join(CUT_COLUMNS)}")
        if len(filters) > 1:
            raise fail((*here, "filters"), "a recipient's cut filters on one key")
        for key, value in filters.items():
            if key not in CUT_COLUMNS:
                raise fail((*here, "filters", key), f"unknown filter {key!r}; expected one of {', '.join(CUT_COLUMNS)}")
            if not isinstance(value, str) or not value.strip():
                raise fail((*here, "filters", key), "expected non-empty text")
        cut = tuple((k, v.strip()) for k, v in filters.items())
        if (address.lower(), kind, cut) in seen:
            raise fail((*here, "email"), f"duplicate recipient {address!r} for the same kind and filters")
        seen.add((address.lower(), kind, cut))
        recipients.append(Recipient(email=address, name=entry["name"].strip(), kind=kind, weekday=weekday,
                                    filters=cut))
    return recipients


def write_report(engine: sa.Engine, settings: Settings, config: PipelineConfig, day: date) -> Path:
    """Render the web report for `day` to $CX_HOME/reports/<D>/cx_report_<D>.html, refresh the archive
    index ($CX_HOME/reports/index.html) and return the report's path."""
    with engine.connect() as conn:
        context = build_context(conn, day, config)
    path = settings.reports_dir / day.isoformat() / f"cx_report_{day.isoformat()}.html"
    _replace(path, render_web(context).encode("utf-8"))
    write_index(settings.reports_dir, config.brand)
    return path


def write_index(reports_dir: Path, brand: str) -> Path:
    """The archive page listing every report under `reports_dir`, newest first."""
    reports = sorted(
        (p for p in reports_dir.glob("*/cx_report_*.html") if REPORT_RE.match(p.name)
         and p.parent.name == REPORT_RE.match(p.name).group(1)),
        key=lambda p: p.parent.name, reverse=True,
    )
    entries = [{"day": p.parent.name, "href": f"{p.parent.name}/{p.name}",
                "label": f"{date.fromisoformat(p.parent.name):%A %d %B %Y}"} for p in reports]
    html = environment().get_template("archive.html").render(title=f"{brand} CX reports".strip(), reports=entries)
    path = reports_dir / "index.html"
    _replace(path, html.encode("utf-8"))
    return path


_LEDGER = sa.text(
    "select recipient, kind, status from ops.report_deliveries where report_date = :day"
)
_LEDGER_DELETE = sa.text(
    "delete from ops.report_deliveries where report_date = :day and recipient = :recipient and kind = :kind"
)
_LEDGER_INSERT = sa.text(
    "insert into ops.report_deliveries (report_date, recipient, kind, content_hash, message_id, status, sent_at, "
    "detail) values (:day, :recipient, :kind, :hash, :message_id, :status, :at, :detail)"
)


def _ledger_kind(recipient: Recipient) -> str:
    return recipient.kind + "".join(f":{k}={v}" for k, v in recipient.filters)


def deliver(engine: sa.Engine, settings: Settings, config: PipelineConfig, day: date,
            resend: bool = False) -> list[Delivery]:
    """Deliver the report for `day` to every due recipient that has not had it yet (all of them with `resend`).

    Each recipient gets only their cut. Through SMTP when CX_SMTP_URL is set, else as
    $CX_HOME/outbox/<D>/<email>.eml. A failure to reach one recipient is recorded and the others
    still get theirs; a DeliveryError at the end names the failures. Returns one Delivery per
    recipient in recipients.yml order.
    """
    recipients = load_recipients(config.path.parent / "recipients.yml")
    server = SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None
    with engine.connect() as conn:
        done = {(r.recipient, r.kind) for r in conn.execute(_LEDGER, {"day": day}) if r.status != "failed"}
        contexts = {cut: build_context(conn, day, config, cut)
                    for cut in dict.fromkeys(r.cut for r in recipients if r.is_due(day))}
    results: list[Delivery] = []
    for recipient in recipients:
        key = (recipient.email, _ledger_kind(recipient))
        if not recipient.is_due(day):
            results.append(Delivery(recipient, "not due"))
            continue
        if key in done and not resend:
            results.append(Delivery(recipient, "skipped"))
            continue
        message = render_email(contexts[recipient.cut], recipient)
        data = message.as_bytes()
        path, detail = None, ""
        if server is None:
            path = settings.outbox_dir / day.isoformat() / f"{recipient.email}.eml"
            _replace(path, data)
            status = "written"
        else:
            try:
                send(server, message)
                status = "sent"
            except DeliveryError as exc:
                status, detail = "failed", str(exc)
        with engine.begin() as conn:
            conn.execute(_LEDGER_DELETE, {"day": day, "recipient": key[0], "kind": key[1]})
            conn.execute(_LEDGER_INSERT, {
                "day": day, "recipient": key[0], "kind": key[1], "hash": hashlib.sha256(data).hexdigest(),
                "message_id": message["Message-ID"], "status": status, "at": datetime.now(UTC), "detail": detail})
        results.append(Delivery(recipient, status, message["Message-ID"], path, detail))
    failed = [d for d in results if d.status == "failed"]
    if failed:
        raise DeliveryError("; ".join(f"{d.recipient.email}: {d.detail}" for d in failed))
    return results


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
