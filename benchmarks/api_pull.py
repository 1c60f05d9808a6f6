"""What paging over HTTP costs: a Trustpilot pull from a loopback API against parsing the same file.

Serves N reviews (default 20,000) in pages of 100 from a stdlib HTTP server on 127.0.0.1, pulls
them with `pipelines.sources.api.pull`, and parses the same reviews from one JSON file with the
format's parser. Prints rows/s of both, the client-side cost per page and the ratio; fails (exit 1)
when the pull is more than `--max-ratio` times slower than the file (default 4: 200 round trips
and the re-shaping of pages must stay a small cost next to parsing the rows). Mapping each page
on its own measured ~8x; parsing pages in chunks of 5,000 items brought it to ~1.8x.

    .venv/bin/python benchmarks/api_pull.py [--rows 20000] [--max-ratio 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.config import SourceConfig  # noqa: E402
from pipelines.sources import get_parser  # noqa: E402
from pipelines.sources.api import pull  # noqa: E402
from pipelines.sources.api.paging import Window  # noqa: E402

DAY_END = datetime(2026, 3, 11, tzinfo=UTC)


def reviews(n: int) -> list[dict]:
    """n reviews, newest first, a few seconds apart, all on 10 March 2026."""
    text = "Fast install, friendly staff. " * 4
    return [{"id": f"tp{i:07d}", "stars": 1 + i % 5, "title": f"Title {i}", "text": text,
             "language": "en", "createdAt": (DAY_END - timedelta(seconds=1 + i * 4)).isoformat(),
             "consumer": {"id": f"c{i}", "displayName": f"Customer {i}"}} for i in range(n)]


def serve(items: list[dict]) -> ThreadingHTTPServer:
    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            page, per = int(query.get("page", 1)), int(query.get("perPage", 100))
            body = {"reviews": items[(page - 1) * per: page * per], "links": []}
            if page * per < len(items):
                body["links"].append({"rel": "next-page", "href": f"/reviews?page={page + 1}&perPage={per}"})
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--max-ratio", type=float, default=4.0)
    args = parser.parse_args()
    items = reviews(args.rows)
    tz = ZoneInfo("Europe/London")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reviews.json"
        path.write_text(json.dumps(items))
        source = SourceConfig(name="tp", family="review", format="trustpilot_json", path=str(path))
        started = time.perf_counter()
        file_rows = sum(len(b) for b in get_parser("trustpilot_json")(path, source, tz))
        file_s = time.perf_counter() - started

    server = serve(items)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/reviews"
        source = SourceConfig(name="tp", family="review", format="trustpilot_json", url=url, page_size=100,
                              overlap=None)
        started = time.perf_counter()
        got = pull(source, Window(None, DAY_END), tz)
        api_s = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
    api_rows = sum(len(b) for b in got.batches)
    ratio = api_s / file_s
    print(f"file: {file_rows} rows in {file_s:.2f}s ({file_rows / file_s:,.0f} rows/s)")
    print(f"api:  {api_rows} rows in {len(got.pages)} pages in {api_s:.2f}s ({api_rows / api_s:,.0f} rows/s)")
    print(f"client-side cost per page: {1000 * api_s / len(got.pages):.1f} ms")
    print(f"ratio api/file: {ratio:.2f} (limit {args.max_ratio})")
    if api_rows != file_rows:
        print(f"FAIL: the pull read {api_rows} rows, the file {file_rows}")
        return 1
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
