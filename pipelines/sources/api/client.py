"""A JSON-over-HTTP client for vendor APIs: credentials from the environment, retries inside a budget.

Transient faults are retried with exponential backoff and full jitter: HTTP 429 and 5xx, timeouts,
dropped connections and a body that is not complete JSON (a truncated transfer). `Retry-After`
(seconds or an HTTP-date) is honoured as a lower bound on the wait. Every wait and every request
timeout is cut to what is left of the source's total time budget; when the budget cannot cover
the next attempt the pull fails with a SourceError saying so.

Secrets are read from the environment variables the source's `auth` names, sent only to the
configured API's origin, never logged, and scrubbed from every message this module raises.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from pipelines.errors import SourceError
from pipelines.sources.base import parse_json

log = logging.getLogger(__name__)

AUTH_TYPES = ("bearer", "basic", "api_key")
DEFAULT_API_KEY_HEADER = "X-API-Key"
MAX_ATTEMPTS = 8
BACKOFF_CAP_SECONDS = 60.0
USER_AGENT = "cx-pipeline/0.1 (+https://github.com/cx-pipeline)"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# The first wait's upper bound; tests set it tiny through the environment.
BACKOFF_ENV = "CX_HTTP_BACKOFF_SECONDS"


def backoff_base() -> float:
    """The base of the exponential backoff in seconds (CX_HTTP_BACKOFF_SECONDS, default 1)."""
    return float(os.environ.get(BACKOFF_ENV) or 1.0)


@dataclass
class Budget:
    """A wall-clock allowance for everything one source does over HTTP."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @property
    def remaining(self) -> float:
        return max(0.0, self.seconds - (self.clock() - self.started))


def auth_headers(auth: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """The request headers for a source's `auth`, and the secret values to scrub from messages.

    bearer: `token_env` → `Authorization: Bearer …`; basic: `username_env` and `password_env`;
    api_key: `token_env` sent in `header` (default X-API-Key). A variable that is unset or empty
    raises SourceError naming the variable, never a value.
    """
    env = os.environ if environ is None else environ
    if not auth:
        return {}, []

    def secret(key: str) -> str:
        name = str(auth[key])
        value = env.get(name)
        if not value:
            raise SourceError(f"environment variable {name} ({key}) is not set")
        return value

    kind = auth.get("type")
    if kind == "bearer":
        token = secret("token_env")
        return {"Authorization": f"Bearer {token}"}, [token]
    if kind == "basic":
        user, password = secret("username_env"), secret("password_env")
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {encoded}"}, [password, encoded]
    if kind == "api_key":
        token = secret("token_env")
        return {str(auth.get("header") or DEFAULT_API_KEY_HEADER): token}, [token]
    raise SourceError(f"auth type {kind!r} is not one of {', '.join(AUTH_TYPES)}")


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff(attempt: int, base: float, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base · 2^(attempt−1))] for the attempt that just failed."""
    return rng.uniform(0.0, min(BACKOFF_CAP_SECONDS, base * 2 ** (attempt - 1)))


class ApiClient:
    """GET JSON from one API origin with retries, inside one budget (see the module docstring)."""

    def __init__(
        self,
        source: str,
        base_url: str,
        auth: Mapping[str, Any],
        budget: Budget,
        *,
        timeout_seconds: float = 30.0,
        backoff_seconds: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.source = source
        self.origin = _origin(base_url)
        headers, self._secrets = auth_headers(auth)
        self.budget = budget
        self.timeout_seconds = timeout_seconds
        self.backoff_seconds = backoff_base() if backoff_seconds is None else backoff_seconds
        self.rng = rng or random.Random()
        self.requests = 0
        self._http = httpx.Client(headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers},
                                  follow_redirects=False)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> tuple[str, Any]:
        """The decoded JSON body of GET `url` and the URL actually requested (params included).

        Raises SourceError when the origin differs from the configured API's (credentials would
        leak), on a non-retryable status, after MAX_ATTEMPTS, or when the budget runs out.
        """
        if _origin(url) != self.origin:
            raise SourceError(self._scrub(f"{self.source}: refusing to follow {url}: not on {self.origin}"))
        target = httpx.URL(url).copy_merge_params(dict(params or {}))  # keeps a query the URL already has
        shown = str(target)
        last = "no attempt made"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            timeout = min(self.timeout_seconds, self.budget.remaining)
            if timeout <= 0:
                break
            wait_hint: float | None = None
            try:
                self.requests += 1
                response = self._http.send(self._http.build_request("GET", target, timeout=timeout))
            except httpx.TimeoutException:
                last = f"timed out after {timeout:.3g}s"
            except httpx.TransportError as exc:
                last = f"connection failed: {type(exc).__name__}"
            else:
                if response.status_code == 200:
                    try:
                        return shown, parse_json(response.content)
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        last = f"invalid JSON ({len(response.content)} bytes): {exc}"
                elif response.status_code in RETRY_STATUS:
                    last = f"HTTP {response.status_code}"
                    wait_hint = retry_after(response.headers.get("Retry-After"))
                else:
                    snippet = response.text[:200].replace("\n", " ")
                    status = response.status_code
                    raise SourceError(self._scrub(f"{self.source}: GET {shown}: HTTP {status}: {snippet}"))
            delay = backoff(attempt, self.backoff_seconds, self.rng)
            if wait_hint is not None:
                delay = max(delay, wait_hint)
            if delay >= self.budget.remaining:
                break
            if attempt == MAX_ATTEMPTS:
                raise SourceError(self._scrub(f"{self.source}: GET {shown}: gave up after {attempt} attempts: {last}"))
            log.warning("%s", self._scrub(f"{self.source}: GET {shown}: {last}; retry {attempt + 1}/{MAX_ATTEMPTS} "
                                          f"in {delay:.2f}s"))
            time.sleep(delay)
        raise SourceError(self._scrub(
            f"{self.source}: time budget of {self.budget.seconds:g}s exhausted after {self.requests} requests "
            f"(last GET {shown}: {last}); nothing was loaded"
        ))

    def _scrub(self, text: str) -> str:
        """`text` with every secret value replaced by ***."""
        for value in self._secrets:
            text = text.replace(value, "***")
        return text


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
