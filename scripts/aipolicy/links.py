"""`aipolicy check-links`: is every address the atlas cites still reachable?

Checks each distinct URL of the sources (and their archived copies), entries and
organizations: a HEAD request, then GET when the server refuses HEAD; redirects followed and
the final address kept; a timeout per request; retries with backoff for timeouts, connection
errors and server errors; at most a few requests at a time to any one host, so no site is
hammered; a user agent that names the project. It writes a report (text and JSON) and never
changes the data.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from .reading.package import Package

USER_AGENT = "ai-policy-atlas-link-check/1.0 (+https://ai-policy-atlas.github.io/ai-policy-atlas/; checks cited sources once a week)"
COLUMNS = [("sources", "url"), ("sources", "archived_url"), ("entries", "url"), ("organizations", "url")]


@dataclass
class LinkResult:
    url: str
    status: int | None  # the final HTTP status; None when no answer came
    ok: bool
    final_url: str | None
    seconds: float
    error: str | None
    cited_by: list[str]  # table:id of the rows that hold the address


def cited_urls(package: Package) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for table, column in COLUMNS:
        t = package.tables.get(table)
        if t is None or t.data is None or column not in t.data.columns:
            continue
        key = t.primary_key[0]
        for ident, url in t.data.select(key, column).iter_rows():
            if url:
                found[url].append(f"{table}:{ident}")
    return dict(sorted(found.items()))


class _NoRedirectErrors(urllib.request.HTTPRedirectHandler):
    max_redirections = 10


def _request(url: str, method: str, timeout: float) -> tuple[int, str]:
    req = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    opener = urllib.request.build_opener(_NoRedirectErrors())
    try:
        with opener.open(req, timeout=timeout) as response:
            return response.status, response.geturl()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.geturl() or url


def check_one(url: str, cited_by: list[str], timeout: float, retries: int, backoff: float) -> LinkResult:
    start = time.monotonic()
    error = None
    status, final = None, None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            status, final = _request(url, "HEAD", timeout)
            if status in (403, 405, 501):  # some servers refuse HEAD: ask again with GET
                status, final = _request(url, "GET", timeout)
            error = None
            if status < 500:
                break
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            error = f"timed out after {timeout:g} s" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else str(reason)
            status, final = None, None
    ok = status is not None and 200 <= status < 400
    return LinkResult(url, status, ok, final, round(time.monotonic() - start, 3), error, cited_by)


def check_links(package: Package, timeout: float = 15.0, retries: int = 2, backoff: float = 1.0, per_host: int = 2,
                workers: int = 16, limit: int | None = None) -> list[LinkResult]:
    urls = cited_urls(package)
    items = list(urls.items())[:limit] if limit else list(urls.items())
    gates: dict[str, threading.Semaphore] = defaultdict(lambda: threading.Semaphore(per_host))
    lock = threading.Lock()

    def run(item):
        url, cited = item
        with lock:
            gate = gates[urlsplit(url).netloc.lower()]
        with gate:
            return check_one(url, cited, timeout, retries, backoff)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, items))


def render_text(results: list[LinkResult]) -> str:
    broken = [r for r in results if not r.ok]
    lines = [f"checked {len(results)} addresses: {len(results) - len(broken)} reachable, {len(broken)} not", ""]
    for r in broken:
        why = f"HTTP {r.status}" if r.status else r.error
        lines.append(f"{why}: {r.url} (cited by {', '.join(r.cited_by)})")
    moved = [r for r in results if r.ok and r.final_url and r.final_url != r.url]
    if moved:
        lines += ["", f"{len(moved)} addresses redirect:"] + [f"{r.url} -> {r.final_url}" for r in moved]
    return "\n".join(lines) + "\n"


def render_json(results: list[LinkResult]) -> str:
    return json.dumps({"checked": len(results), "broken": sum(not r.ok for r in results), "results": [asdict(r) for r in results]},
                      ensure_ascii=False, indent=2) + "\n"
