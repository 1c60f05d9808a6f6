"""Typed settings, resolved once: environment first, then `sources.yml` (CONTRACT.md)."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from pipelines.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "sql"
TEMPLATES_DIR = PROJECT_ROOT / "reports" / "templates"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

FAMILIES = ("review", "mention", "survey")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# Canonical roles per family (CONTRACT.md): what a `fields` map may fill. `email` and
# `customer_id` (any family) are identifiers that link one customer's items across sources.
ROLES: dict[str, tuple[str, ...]] = {
    "review": (
        "review_id", "created_at", "updated_at", "rating", "title", "body", "language", "author",
        "product", "location", "reply_text", "reply_at", "url", "email", "customer_id",
    ),
    "mention": (
        "mention_id", "created_at", "author", "text", "language", "likes", "shares", "replies",
        "url", "in_reply_to", "email", "customer_id",
    ),
    "survey": (
        "response_id", "submitted_at", "respondent", "nps", "csat", "ces", "comment",
        "journey_stage", "touchpoint", "product", "location", "channel", "email", "customer_id",
    ),
}


@dataclass(frozen=True)
class Settings:
    """Where things live and which services to use; every value has an embedded default."""

    home: Path
    config_path: Path
    warehouse_url: str
    landing_dir: Path
    smtp_url: str | None
    pii_key: bytes

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @classmethod
    def from_env(cls, config_path: str | Path | None = None) -> Settings:
        """Read the CX_* environment variables (CONTRACT.md) and fill in the defaults."""
        env = os.environ
        home = Path(env.get("CX_HOME") or "var").resolve()
        cfg = Path(config_path or env.get("CX_CONFIG") or PROJECT_ROOT / "config" / "sources.yml")
        url = env.get("CX_WAREHOUSE_URL") or f"duckdb:///{home / 'warehouse.duckdb'}"
        landing = Path(env.get("CX_LANDING_DIR") or home / "landing")
        key = env.get("CX_PII_KEY")
        return cls(
            home=home,
            config_path=cfg,
            warehouse_url=url,
            landing_dir=landing,
            smtp_url=env.get("CX_SMTP_URL") or None,
            pii_key=key.encode() if key else _install_key(home),
        )


def _install_key(home: Path) -> bytes:
    """The per-install hashing key, generated once into CX_HOME so hashes stay stable."""
    path = home / "pii.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class SourceConfig:
    """One entry of `sources.yml`."""

    name: str
    family: str
    format: str
    path: str | None = None
    url: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    auth: dict[str, Any] = field(default_factory=dict)

    def files(self, landing: Path, day: date) -> list[Path]:
        """The files this source delivers for business day `day`, sorted for a stable order."""
        if not self.path:
            return []
        pattern = self.path.format(landing=landing, date=day.isoformat())
        root = Path(pattern).anchor or "."
        rel = str(Path(pattern).relative_to(root)) if Path(pattern).is_absolute() else pattern
        return sorted(p for p in Path(root).glob(rel) if p.is_file())


@dataclass(frozen=True)
class PipelineConfig:
    """The whole of `sources.yml`."""

    path: Path
    timezone: ZoneInfo
    brand: str
    competitors: tuple[str, ...]
    sources: tuple[SourceConfig, ...]

    def select(self, names: list[str] | None) -> tuple[SourceConfig, ...]:
        """The sources named (all when none are), or a ConfigError naming an unknown one."""
        if not names:
            return self.sources
        known = {s.name: s for s in self.sources}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(
                f"{self.path}: unknown source {', '.join(unknown)!s}; configured: {', '.join(known)}"
            )
        return tuple(known[n] for n in names)


def _with_lines(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> Any:
    """Turn a composed YAML node into Python values, remembering the line of every key."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value
            out[key] = _with_lines(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_with_lines(v, (*path, i), lines) for i, v in enumerate(node.value)]
    return yaml.SafeLoader(" ").construct_object(node) if node.tag != "tag:yaml.org,2002:str" else node.value


def load_config(path: str | Path) -> PipelineConfig:
    """Parse and check `sources.yml`; every problem names the file, the line and the key."""
    from pipelines.sources import FORMATS  # the registry of built-in formats

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (set CX_CONFIG or pass --config)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: malformed YAML: {problem}") from None
    lines: dict[tuple, int] = {}
    data = _with_lines(node, (), lines) if node is not None else None

    def fail(key_path: tuple, message: str) -> ConfigError:
        line = lines.get(key_path) or lines.get(key_path[:-1]) or 1
        dotted = ".".join(str(k) for k in key_path) or "(top level)"
        return ConfigError(f"{path}:{line}: {dotted}: {message}")

    if not isinstance(data, dict):
        raise fail((), "expected a mapping with 'timezone' and 'sources'")
    tz_name = data.get("timezone", "UTC")
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(("timezone",), f"unknown timezone {tz_name!r}") from None
    competitors = data.get("competitors") or []
    if not isinstance(competitors, list):
        raise fail(("competitors",), "expected a list of names")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise fail(("sources",), "expected a non-empty list of sources")

    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw_sources):
        here = ("sources", i)
        if not isinstance(entry, dict):
            raise fail(here, "expected a mapping")
        for key in ("name", "family", "format"):
            if not entry.get(key):
                raise fail(here, f"missing required key '{key}'")
        unknown_keys = set(entry) - {"name", "family", "format", "path", "url", "fields", "options", "auth"}
        if unknown_keys:
            key = sorted(unknown_keys)[0]
            raise fail((*here, key), f"unknown key {key!r}")
        name, family, fmt = str(entry["name"]), str(entry["family"]), str(entry["format"])
        if not NAME_RE.match(name):
            raise fail((*here, "name"), f"{name!r} must match [a-z][a-z0-9_]*")
        if name in seen:
            raise fail((*here, "name"), f"duplicate source name {name!r}")
        seen.add(name)
        if family not in FAMILIES:
            raise fail((*here, "family"), f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
        if fmt not in FORMATS:
            raise fail((*here, "format"), f"unknown format {fmt!r}; built-in: {', '.join(sorted(FORMATS))}")
        if not entry.get("path") and not entry.get("url"):
            raise fail(here, "needs a 'path' (files) or a 'url' (HTTP API)")
        fields = entry.get("fields") or {}
        if not isinstance(fields, dict):
            raise fail((*here, "fields"), "expected a mapping of role: column")
        for role in fields:
            if role not in ROLES[family]:
                raise fail((*here, "fields", role), f"unknown {family} role {role!r}")
        for key in ("options", "auth"):
            if not isinstance(entry.get(key) or {}, dict):
                raise fail((*here, key), "expected a mapping")
        sources.append(
            SourceConfig(
                name=name,
                family=family,
                format=fmt,
                path=entry.get("path"),
                url=entry.get("url"),
                fields={str(k): str(v) for k, v in fields.items()},
                options=dict(entry.get("options") or {}),
                auth=dict(entry.get("auth") or {}),
            )
        )
    return PipelineConfig(
        path=path,
        timezone=tz,
        brand=str(data.get("brand", "")),
        competitors=tuple(str(c) for c in competitors),
        sources=tuple(sources),
    )


def parse_date(value: str, option: str = "--date") -> date:
    """An ISO date from the command line, or a ConfigError that names the option."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{option}: {value!r} is not a date; expected YYYY-MM-DD") from None
