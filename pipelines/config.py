"""Typed settings, resolved once: environment first, then `sources.yml` (CONTRACT.md)."""

from __future__ import annotations

import os
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
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
DEFAULT_SENTIMENT_MODEL = "cx_vader"  # VADER with the CX lexicon and rules in config/ (KPIS.md)
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# HTTP API sources (`url:`): defaults of the keys only they take.
DEFAULT_OVERLAP = timedelta(days=2)
DEFAULT_BUDGET_SECONDS = 300.0
DEFAULT_TIMEOUT_SECONDS = 30.0
API_KEYS = ("params", "page_size", "budget_seconds", "timeout_seconds", "incremental")
SECRET_PARAMS = {"key", "api_key", "apikey", "token", "access_token", "client_secret", "password", "secret"}
AUTH_KEYS = {"bearer": ("token_env",), "basic": ("username_env", "password_env"), "api_key": ("token_env", "header")}

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
    sentiment_model: str | None = None  # CX_SENTIMENT_MODEL: overrides sources.yml `sentiment.model`

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
            sentiment_model=_sentiment_model(env.get("CX_SENTIMENT_MODEL") or None, "CX_SENTIMENT_MODEL"),
        )


def _sentiment_model(name: str | None, where: str) -> str | None:
    """CX_SENTIMENT_MODEL's model name (or None), or a ConfigError naming the variable."""
    problem = _unknown_model(name)
    if problem:
        raise ConfigError(f"{where}: {problem}")
    return name


def _unknown_model(name: str | None) -> str | None:
    """What is wrong with a sentiment model name, or None when it is known (or not given)."""
    from pipelines.enrich.sentiment import MODELS  # the registry of models

    if name is None or name in MODELS:
        return None
    return f"unknown sentiment model {name!r}; known: {', '.join(sorted(MODELS))}"


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
    params: dict[str, Any] = field(default_factory=dict)
    page_size: int | None = None
    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    overlap: timedelta | None = DEFAULT_OVERLAP  # None: not incremental, every pull reads everything

    @property
    def placeholders(self) -> list[str]:
        """The `{name}` fields of `url`, filled from `params` of the same name."""
        return [f for _, f, _, _ in string.Formatter().parse(self.url or "") if f]

    def files(self, landing: Path, day: date) -> list[Path]:
        """The files this source delivers for business day `day`, sorted for a stable order."""
        if not self.path:
            return []
        pattern = self.path.format(landing=landing, date=day.isoformat())
        root = Path(pattern).anchor or "."
        rel = str(Path(pattern).relative_to(root)) if Path(pattern).is_absolute() else pattern
        return sorted(p for p in Path(root).glob(rel) if p.is_file())


@dataclass(frozen=True)
class QualityConfig:
    """`quality:` in sources.yml: the thresholds of the data-quality checks (README, "Data quality")."""

    future_tolerance_minutes: float = 60.0  # an item may be this much later than the business day's end
    volume_history_days: int = 28  # the trailing window whose median daily rows_in is the reference
    volume_min_history_days: int = 7  # fewer days of history: no volume check
    volume_floor_rows: int = 100  # below this median, a day without rows is not alarming
    volume_drop_ratio: float = 0.5  # warn below median × ratio
    volume_spike_ratio: float = 3.0  # warn above median × ratio
    max_staleness_hours: float = 48.0  # warn when the newest item is older than this at the day's end


@dataclass(frozen=True)
class PipelineConfig:
    """The whole of `sources.yml`."""

    path: Path
    timezone: ZoneInfo
    brand: str
    competitors: tuple[str, ...]
    sources: tuple[SourceConfig, ...]
    quality: QualityConfig = field(default_factory=QualityConfig)
    sentiment_model: str = DEFAULT_SENTIMENT_MODEL

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


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file that remembers the line of every key, for `file:line: key: message` errors."""

    path: Path
    data: Any
    lines: dict[tuple, int]

    def error(self, key_path: tuple, message: str) -> ConfigError:
        """A ConfigError at the line of `key_path` (or of its nearest parent)."""
        line = self.lines.get(key_path) or self.lines.get(key_path[:-1]) or 1
        dotted = ".".join(str(k) for k in key_path) or "(top level)"
        return ConfigError(f"{self.path}:{line}: {dotted}: {message}")


def read_yaml(path: str | Path, hint: str = "set CX_CONFIG or pass --config") -> YamlDoc:
    """Read a YAML config file; a missing, unreadable or malformed file is a ConfigError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found ({hint})") from None
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
    return YamlDoc(path, data, lines)


def load_config(path: str | Path) -> PipelineConfig:
    """Parse and check `sources.yml`; every problem names the file, the line and the key."""
    from pipelines.sources import FORMATS  # the registry of built-in formats

    doc = read_yaml(path)
    path, data, fail = doc.path, doc.data, doc.error

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
    sentiment = data.get("sentiment") or {}
    if not isinstance(sentiment, dict):
        raise fail(("sentiment",), "expected a mapping such as {model: cx_vader}")
    for key in sentiment:
        if key != "model":
            raise fail(("sentiment", key), f"unknown key {key!r}")
    model = str(sentiment.get("model") or DEFAULT_SENTIMENT_MODEL)
    problem = _unknown_model(model)
    if problem:
        raise fail(("sentiment", "model"), problem)
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise fail(("sources",), "expected a non-empty list of sources")

    quality = data.get("quality") or {}
    if not isinstance(quality, dict):
        raise fail(("quality",), "expected a mapping of threshold: number")
    defaults = QualityConfig()
    for key, value in quality.items():
        if not hasattr(defaults, key):
            raise fail(("quality", key), f"unknown key {key!r}; known: {', '.join(vars(defaults))}")
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise fail(("quality", key), f"expected a number >= 0, got {value!r}")

    sources: list[SourceConfig] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw_sources):
        here = ("sources", i)
        if not isinstance(entry, dict):
            raise fail(here, "expected a mapping")
        for key in ("name", "family", "format"):
            if not entry.get(key):
                raise fail(here, f"missing required key '{key}'")
        unknown_keys = set(entry) - {"name", "family", "format", "path", "url", "fields", "options", "auth", *API_KEYS}
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
        if entry.get("path") and entry.get("url"):
            raise fail((*here, "url"), "a source reads files ('path') or an HTTP API ('url'), not both")
        fields = entry.get("fields") or {}
        if not isinstance(fields, dict):
            raise fail((*here, "fields"), "expected a mapping of role: column")
        for role in fields:
            if role not in ROLES[family]:
                raise fail((*here, "fields", role), f"unknown {family} role {role!r}")
        for key in ("options", "auth", "params"):
            if not isinstance(entry.get(key) or {}, dict):
                raise fail((*here, key), "expected a mapping")
        api = _api_keys(entry, here, fail)
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
                **api,
            )
        )
    return PipelineConfig(
        path=path,
        timezone=tz,
        brand=str(data.get("brand", "")),
        competitors=tuple(str(c) for c in competitors),
        sources=tuple(sources),
        quality=QualityConfig(**{k: type(getattr(defaults, k))(v) for k, v in quality.items()}),
        sentiment_model=model,
    )


def _api_keys(entry: dict[str, Any], here: tuple, fail: Callable[[tuple, str], ConfigError]) -> dict[str, Any]:
    """Check the keys of an HTTP API source (`url`, `auth`, `params`, ...); SourceConfig arguments."""
    from pipelines.sources.api.paging import PAGING

    url = entry.get("url")
    if not url:
        for key in (*API_KEYS, "auth"):
            if key in entry:
                raise fail((*here, key), "only an HTTP API source (one with a 'url') takes this key")
        return {}
    fmt = str(entry["format"])
    if fmt not in PAGING:
        raise fail((*here, "url"), f"format {fmt!r} has no HTTP API paging; API formats: {', '.join(sorted(PAGING))}")
    if not re.match(r"^https?://[^/\s]+", str(url)):
        raise fail((*here, "url"), f"{url!r} is not an http:// or https:// URL")
    params = entry.get("params") or {}
    for key, value in params.items():
        if not isinstance(value, str | int | float | bool):
            raise fail((*here, "params", key), "expected a text or number value")
        if str(key).lower().replace("-", "_") in SECRET_PARAMS:
            raise fail((*here, "params", key), "looks like a credential: query parameters are logged and kept "
                                               "with each page's URL; name an environment variable in 'auth'")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(str(url)) if f is not None]
    except ValueError as exc:
        raise fail((*here, "url"), f"bad placeholder: {exc}") from None
    for name in fields:
        if name not in params:
            raise fail((*here, "url"), f"placeholder {{{name}}} has no value in 'params'")
    auth = entry.get("auth") or {}
    if auth:
        kind = auth.get("type")
        if kind not in AUTH_KEYS:
            raise fail((*here, "auth", "type"), f"expected one of {', '.join(AUTH_KEYS)}, got {kind!r}")
        for key in auth:
            if key != "type" and key not in AUTH_KEYS[kind]:
                hint = "; secrets come from the environment: name the variable with *_env" \
                    if key in ("token", "password", "username", "key") else ""
                raise fail((*here, "auth", key), f"unknown key for auth type {kind}{hint}")
        for key in AUTH_KEYS[kind]:
            if key.endswith("_env"):
                if not auth.get(key):
                    raise fail((*here, "auth"), f"auth type {kind} needs '{key}' (an environment variable name)")
                if not ENV_NAME_RE.match(str(auth[key])):
                    raise fail((*here, "auth", key), f"{auth[key]!r} is not an environment variable name")
    out: dict[str, Any] = {"params": {str(k): v for k, v in params.items()}}
    if "page_size" in entry:
        size, limit = entry["page_size"], PAGING[fmt].max_page_size
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= limit:
            raise fail((*here, "page_size"), f"expected a whole number from 1 to {limit} (the {fmt} API's maximum)")
        out["page_size"] = size
    for key in ("budget_seconds", "timeout_seconds"):
        if key in entry:
            value = entry[key]
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise fail((*here, key), "expected a positive number of seconds")
            out[key] = float(value)
    if "incremental" in entry:
        out["overlap"] = _overlap(entry["incremental"], (*here, "incremental"), fail)
    return out


def _overlap(value: Any, key: tuple, fail: Callable[[tuple, str], ConfigError]) -> timedelta | None:
    """`incremental: false` (None), `true` (the default overlap) or `{overlap: 2d}` (s, m, h or d)."""
    if value is False:
        return None
    if value is True:
        return DEFAULT_OVERLAP
    if not isinstance(value, dict) or set(value) - {"overlap"}:
        raise fail(key, "expected false, true or a mapping {overlap: DURATION}")
    raw = value.get("overlap", "2d")
    match = DURATION_RE.match(str(raw).strip()) if not isinstance(raw, bool) else None
    if match is None:
        raise fail((*key, "overlap"), f"{raw!r} is not a duration like 90m, 36h or 2d")
    return timedelta(**{DURATION_UNITS[match.group(2)]: float(match.group(1))})


def parse_date(value: str, option: str = "--date") -> date:
    """An ISO date from the command line, or a ConfigError that names the option."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{option}: {value!r} is not a date; expected YYYY-MM-DD") from None
