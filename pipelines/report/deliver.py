"""Writing the report out: the web page archive and one email per recipient.

Both are files replaced in place, so rerunning a day rewrites the same paths instead of adding
copies. Without SMTP (the embedded default) the emails stay in the outbox as .eml files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa
import yaml

from pipelines.config import PipelineConfig, Settings, _with_lines
from pipelines.errors import ConfigError
from pipelines.report.context import build_context
from pipelines.report.render import render_email, render_web

RECIPIENT_KINDS = ("daily",)
# an address that is also a safe file name: no path separators, quotes or spaces
EMAIL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


@dataclass(frozen=True)
class Recipient:
    """Someone who receives the report by email."""

    email: str
    name: str
    kind: str = "daily"


def load_recipients(path: Path) -> list[Recipient]:
    """Parse and check recipients.yml; every problem names the file, the line and the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: recipients file not found (it sits beside sources.yml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read recipients file: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: malformed YAML: {getattr(exc, 'problem', None) or exc}") from None
    lines: dict[tuple, int] = {}
    data = _with_lines(node, (), lines) if node is not None else None

    def fail(key_path: tuple, message: str) -> ConfigError:
        line = lines.get(key_path) or lines.get(key_path[:-1]) or 1
        dotted = ".".join(str(k) for k in key_path) or "(top level)"
        return ConfigError(f"{path}:{line}: {dotted}: {message}")

    if not isinstance(data, dict) or "recipients" not in data:
        raise fail((), "expected a mapping with a 'recipients' list")
    entries = data["recipients"]
    if not isinstance(entries, list) or not entries:
        raise fail(("recipients",), "expected a non-empty list of recipients")
    recipients: list[Recipient] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        here = ("recipients", i)
        if not isinstance(entry, dict):
            raise fail(here, "expected a mapping with 'email' and 'name'")
        unknown = sorted(set(entry) - {"email", "name", "kind"})
        if unknown:
            raise fail((*here, unknown[0]), f"unknown key {unknown[0]!r}; expected email, name, kind")
        for key in ("email", "name"):
            if key not in entry:
                raise fail(here, f"missing required key '{key}'")
            if not isinstance(entry[key], str) or not entry[key].strip():
                raise fail((*here, key), "expected non-empty text")
        address, kind = entry["email"].strip(), entry.get("kind", "daily")
        if not EMAIL_RE.match(address):
            raise fail((*here, "email"), f"{address!r} is not a plain email address")
        if address.lower() in seen:
            raise fail((*here, "email"), f"duplicate recipient {address!r}")
        if kind not in RECIPIENT_KINDS:
            raise fail((*here, "kind"), f"unknown kind {kind!r}; expected one of {', '.join(RECIPIENT_KINDS)}")
        seen.add(address.lower())
        recipients.append(Recipient(email=address, name=entry["name"].strip(), kind=kind))
    return recipients


def write_report(engine: sa.Engine, settings: Settings, config: PipelineConfig, day: date) -> Path:
    """Render the web report for `day` to $CX_HOME/reports/<D>/cx_report_<D>.html and return its path."""
    with engine.connect() as conn:
        context = build_context(conn, day, config)
    path = settings.reports_dir / day.isoformat() / f"cx_report_{day.isoformat()}.html"
    _replace(path, render_web(context).encode("utf-8"))
    return path


def deliver(engine: sa.Engine, settings: Settings, config: PipelineConfig, day: date) -> list[Path]:
    """Write the report email for `day` to the outbox, one <recipient email>.eml per recipient.

    Each file is replaced on a rerun, so a day never holds two copies for one recipient.
    Returns the paths in recipients.yml order.
    """
    recipients = load_recipients(config.path.parent / "recipients.yml")
    with engine.connect() as conn:
        context = build_context(conn, day, config)
    folder = settings.outbox_dir / day.isoformat()
    paths = []
    for recipient in recipients:
        path = folder / f"{recipient.email}.eml"
        _replace(path, render_email(context, recipient).as_bytes())
        paths.append(path)
    return paths


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
