"""The web report and the HTML email in a real headless Chromium, driven over the DevTools protocol.

Each page is opened from a file, as a reader would; the test asserts no console errors or
dialogs, every image loaded, customer markup shown as text and, for the email at 640 px, no
horizontal scrolling. Screenshots land in var/test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from websockets.sync.client import connect

from pipelines.config import PipelineConfig, Settings, SourceConfig
from pipelines.report import Recipient, build_context, render_email, write_report
from pipelines.warehouse.db import make_engine, migrate
from tests.dimensions import add_dimension_members
from tests.needs import require

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
DAY = date(2026, 1, 15)
XSS = "Loved it <script>alert(1)</script> and <img src=x onerror=alert(1)> too"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", "--hide-scrollbars"]


def chromium_path() -> str:
    """The Chromium binary; skip without it (fail under CI=true: `make test` installs it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    require(found is not None, "chromium is not installed (make chromium installs the Debian package)")
    return found


class Page:
    """A minimal DevTools client for one tab: commands, and the events that arrive meanwhile."""

    def __init__(self, ws_url: str) -> None:
        self.ws = connect(ws_url, max_size=64 * 1024 * 1024)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(json.loads(self.ws.recv(timeout=deadline - time.monotonic())))
        raise TimeoutError(method)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"]["value"]

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions, failed loads and dialogs seen so far."""
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(params["entry"]["text"])
            elif method == "Page.javascriptDialogOpening":
                out.append(f"dialog: {params.get('message')}")
        return out


@pytest.fixture(scope="module")
def browser():
    binary = chromium_path()
    profile = tempfile.mkdtemp(prefix="cx-chromium-")
    proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"chromium did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(endpoint: str, path: Path, width: int) -> Page:
    """A new tab at `width` px that has loaded `path`, with console and log events enabled."""
    request = urllib.request.Request(f"{endpoint}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        target = json.load(response)
    page = Page(target["webSocketDebuggerUrl"])
    for domain in ("Page", "Runtime", "Log"):
        page.send(f"{domain}.enable")
    page.send("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
    page.send("Page.navigate", url=path.as_uri())
    page.wait_for("Page.loadEventFired")
    return page


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
    path = ARTIFACTS / name
    path.write_bytes(base64.b64decode(data))
    return path


PAGE_FACTS = r"""(() => {
  const images = [...document.images].map(
    i => ({src: i.src.slice(0, 30), alt: i.alt, ok: i.complete && i.naturalWidth > 0}));
  const svgs = [...document.querySelectorAll('svg')];
  return {
    images, svgs: svgs.length,
    unlabelled: svgs.filter(s => !s.getAttribute('aria-label')).length + images.filter(i => !i.alt).length,
    scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
    scripts: document.scripts.length, text: document.body.innerText, lowContrast: lowContrast(),
  };
  // WCAG contrast of every visible text element against its nearest opaque background
  function lowContrast() {
    const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
      .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const background = el => {
      for (; el; el = el.parentElement) {
        const c = rgb(getComputedStyle(el).backgroundColor);
        if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (!own || !el.getClientRects().length || el.closest('svg') || el.closest('[style*="display:none"]')) continue;
      const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) out.push(`${el.tagName} ${ratio.toFixed(2)}: ${el.textContent.trim().slice(0, 40)}`);
    }
    return out;
  }
})()"""


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Settings, PipelineConfig, sa.Engine]:
    """A warehouse with 28 days of headline KPIs, a CX-pyramid mix and an XSS verbatim."""
    tmp = tmp_path_factory.mktemp("browser")
    config = PipelineConfig(path=tmp / "sources.yml", timezone=ZoneInfo("Europe/London"), brand="Acme",
                            competitors=(), sources=(SourceConfig("trustpilot", "review", "trustpilot_json",
                                                                  path="p"),))
    settings = Settings(home=tmp / "var", config_path=config.path, warehouse_url=f"duckdb:///{tmp}/w.duckdb",
                        landing_dir=tmp / "landing", smtp_url=None, pii_key=b"k")
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    kpis = [{"d": DAY - timedelta(days=i), "m": m, "v": base + (i % 5), "n": 200}
            for i in range(28) for m, base in (("nps", 20.0), ("net_sentiment", 10.0), ("avg_rating", 3.5),
                                               ("csat", 75.0), ("review_count", 180.0), ("mention_count", 90.0))]
    feedback = [(f"f{i}", score, level, text) for i, (score, level, text) in enumerate([
        (0.95, "pleasure", XSS), (-0.8, "utility", "Parcel arrived two days late"),
        (-0.7, "utility", "Item broken on arrival " + "and-a-very-long-unbroken-token" * 8),
        (-0.4, "usability", "Checkout kept timing out"), (0.6, "pleasure", "Lovely staff")])]
    with engine.begin() as conn:
        conn.execute(sa.text("insert into marts.kpi_daily values (:d, 7, :m, 'all', 'all', :v, :n, :v - 3, :v + 3)"),
                     kpis)
        add_dimension_members(conn, [{"source": "trustpilot", "family": "review", "feedback_date": DAY}])
        conn.execute(sa.text(
            "insert into marts.fct_feedback (feedback_id, family, source, occurred_at, feedback_date, text, "
            "sentiment_score, sentiment_label, pyramid_level) values (:id, 'review', 'trustpilot', :at, :d, :t, "
            ":s, :l, :p)"),
            [{"id": i, "at": datetime(2026, 1, 15, tzinfo=UTC), "d": DAY, "t": t, "s": s, "p": p,
              "l": "positive" if s > 0 else "negative"} for i, s, p, t in feedback])
    yield settings, config, engine
    engine.dispose()


def test_the_web_report_renders_cleanly(browser, report) -> None:
    settings, config, engine = report
    path = write_report(engine, settings, config, DAY)
    page = open_page(browser, path, 1280)
    facts = page.evaluate(PAGE_FACTS)
    shot = screenshot(page, "web_report.png")
    assert page.errors() == []
    assert facts["svgs"] >= 8 and facts["unlabelled"] == 0  # 6 sparklines, 3 trends, the pyramid
    assert facts["scripts"] == 0 and facts["images"] == []  # charts are inline SVG; the XSS <img> is text
    assert XSS in facts["text"]
    assert facts["scrollWidth"] <= facts["clientWidth"]
    assert facts["lowContrast"] == []  # WCAG AA: at least 4.5:1 for all text
    assert shot.stat().st_size > 10_000


def test_the_email_fits_640px_and_every_image_loads(browser, report, tmp_path) -> None:
    settings, config, engine = report
    with engine.connect() as conn:
        context = build_context(conn, DAY, config)
    message = render_email(context, Recipient("a@example.com", "A", kind="weekly", weekday="thursday"))
    message = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    related = message.get_payload()[1]
    html = related.get_payload()[0].get_content()
    # resolve each cid: as a mail client does, from the message's own parts
    for part in related.get_payload()[1:]:
        cid = part["Content-ID"].strip("<>")
        data = base64.b64encode(part.get_content()).decode()
        html = html.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    assert "cid:" not in html
    path = tmp_path / "email.html"
    path.write_text(html, encoding="utf-8")
    page = open_page(browser, path, 640)
    facts = page.evaluate(PAGE_FACTS)
    screenshot(page, "email_640.png")
    assert page.errors() == []
    assert len(facts["images"]) >= 8 and all(i["ok"] for i in facts["images"]), facts["images"]
    assert facts["unlabelled"] == 0 and facts["scripts"] == 0
    assert facts["lowContrast"] == []
    assert XSS in facts["text"]
    assert facts["scrollWidth"] <= 640, f"horizontal scrolling: {facts['scrollWidth']} px wide"
