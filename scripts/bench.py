"""`make bench`: how fast the tooling is, at the size of the real data and far beyond it.

Writes synthetic packages that follow the real schemas (every foreign key consistent, every
rule satisfied) at several scales, plus an error-injected copy with known errors at known
places, then measures wall time and peak memory of

- `aipolicy validate` against `frictionless validate` on the same files (the validator);
- `aipolicy.load()` against plain `pandas.read_csv` and frictionless-py's pandas export
  (the loader);
- `aipolicy docs` at 1x, 10x and 100x the real number of entries (the site).

Each measurement runs in a fresh process, so start-up is counted as a user sees it, and
peak memory is the child's maximum resident set size; a command that takes under 30 s is
run three times and the median kept. Results are printed as a table and written to
bench/results.json (ignored by Git).

    python scripts/bench.py                      # everything, as `make bench` runs it
    python scripts/bench.py --only validate --scales 1000,100000
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
FRICTIONLESS = str(Path(PY).parent / "frictionless")
COPY_FILES = ["datapackage.json", "CITATION.cff", "CHANGELOG.md", "README.md", "LICENSE", "LICENSE-DATA", "mkdocs.yml", "CONTRIBUTING.md"]


# --- synthetic packages ------------------------------------------------------------------------

def _ids(prefix: str, n: int, width: int = 7) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width))


def _dates(rng: np.random.Generator, n: int) -> np.ndarray:
    days = rng.integers(0, (pd.Timestamp("2025-12-31") - pd.Timestamp("2015-01-01")).days, n)
    return (pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d").to_numpy()


def synthetic_tables(n_entries: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Tables with `n_entries` entries that satisfy every schema constraint and rule."""
    rng = np.random.default_rng(seed)
    real = {name: pd.read_csv(ROOT / "data" / f"{name}.csv", dtype=str, keep_default_na=False) for name in ("jurisdictions", "topics")}
    schema = {p.name.split(".")[0]: json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.schema.json")}
    enum = {t: {f["name"]: f.get("constraints", {}).get("enum") for f in s["fields"]} for t, s in schema.items()}
    jurisdictions = real["jurisdictions"]["jurisdiction_id"].to_numpy()
    topics = real["topics"]["topic_id"].to_numpy()
    n = n_entries
    n_orgs = max(n // 10, 10)
    entry_ids = _ids("e-", n)
    source_ids = _ids("s-", n)
    org_ids = _ids("o-", n_orgs)
    date = _dates(rng, n)
    t: dict[str, pd.DataFrame] = {}
    t["jurisdictions"] = real["jurisdictions"]
    t["topics"] = real["topics"]
    language = rng.choice(["en", "zh", "fr", "de"], n)
    t["entries"] = pd.DataFrame({
        "entry_id": entry_ids, "title": np.char.add("Synthetic policy document number ", np.arange(n).astype(str)),
        "title_local": np.where((np.arange(n) % 3 == 0) & (language != "en"), "合成政策文件", ""),
        "title_provenance": np.where(language == "en", "official", "own-translation"), "title_source_id": "", "language": language,
        "kind": rng.choice(enum["entries"]["kind"], n), "jurisdiction_id": rng.choice(jurisdictions, n),
        "date": date, "date_precision": "day", "status": rng.choice(enum["entries"]["status"], n),
        "document_number": np.where(np.arange(n) % 4 == 0, "No. 12/2020", ""),
        "summary": "A synthetic entry for measuring the tooling, with a summary of a typical length; it states what the "
                   "document is, who issued it, when it was adopted and what it does, in about two hundred characters.",
        "url": np.char.add("https://example.org/doc/", np.arange(n).astype(str)),
    })
    t["sources"] = pd.DataFrame({
        "source_id": source_ids, "kind": rng.choice(enum["sources"]["kind"], n), "title": np.char.add("Source about document ", np.arange(n).astype(str)), "title_basis": "",
        "authors": np.where(np.arange(n) % 2 == 0, "Doe, Jane; Roe, Richard", ""), "publisher": "Example Publisher", "container": "Example Journal",
        "volume": "", "issue": "", "pages": "", "date": date, "date_precision": "day",
        "url": np.char.add("https://example.org/source/", np.arange(n).astype(str)), "archived_url": "", "doi": "", "language": "en", "accessed": "2026-11-25",
    })
    t["organizations"] = pd.DataFrame({
        "organization_id": org_ids, "name": np.char.add("Example Organization ", np.arange(n_orgs).astype(str)), "name_local": "",
        "acronym": "", "kind": rng.choice(enum["organizations"]["kind"], n_orgs), "jurisdiction_id": rng.choice(jurisdictions, n_orgs),
        "parent_id": "", "founded": "", "founded_precision": "", "url": "", "description": "An organization made up for the benchmark.", "source_id": "",
    })
    t["entry_sources"] = pd.DataFrame({"entry_id": entry_ids, "source_id": source_ids, "locator": ""})
    signed = pd.to_datetime(date) - pd.to_timedelta(rng.integers(0, 30, n), unit="D")
    t["entry_dates"] = pd.DataFrame({
        "entry_id": np.concatenate([entry_ids, entry_ids]), "event": np.repeat(["published", "signed"], n),
        "date": np.concatenate([date, signed.strftime("%Y-%m-%d").to_numpy()]), "date_precision": "day",
        "source_id": np.concatenate([source_ids, source_ids]), "note": "",
    })
    t["entry_organizations"] = pd.DataFrame({"entry_id": entry_ids, "organization_id": rng.choice(org_ids, n), "role": rng.choice(enum["entry_organizations"]["role"], n)})
    first, second = rng.choice(topics, n), rng.choice(topics, n)
    t["entry_topics"] = pd.DataFrame({"entry_id": np.concatenate([entry_ids, entry_ids[first != second]]),
                                      "topic_id": np.concatenate([first, second[first != second]])})
    k = max(n // 5, 1)
    t["figures"] = pd.DataFrame({
        "figure_id": _ids("f-", k), "entry_id": entry_ids[:k], "quantity": rng.choice(enum["figures"]["quantity"], k),
        "value": rng.integers(1, 10**9, k).astype(str), "unit": rng.choice(["CNY", "USD", "EUR", "count", "ha"], k),
        "qualifier": "approx", "basis": "planned", "as_of": date[:k], "as_of_precision": "day", "target_date": "2030-01-01",
        "target_date_precision": "year", "source_id": source_ids[:k], "note": "",
    })
    r = max(n // 10, 1)
    t["relations"] = pd.DataFrame({"entry_id": entry_ids[1:r + 1] if n > 1 else entry_ids[:1], "related_entry_id": entry_ids[:r] if n > 1 else entry_ids[:1],
                                   "relation": "related-to"})
    if n == 1:
        t["relations"] = t["relations"].iloc[0:0]
    t["retired"] = pd.DataFrame({c: pd.Series([], dtype=str) for c in ["table_name", "id", "retired_in", "reason", "replaced_by"]})
    every5, every10 = np.arange(0, n, 5), np.arange(0, n, 10)
    t["entry_names"] = pd.DataFrame({"entry_id": entry_ids[every5], "name": np.char.add("SPD ", every5.astype(str)), "kind": "short-title", "language": "en"})
    t["identifiers"] = pd.DataFrame({"entry_id": entry_ids[every10], "scheme": "wikidata", "identifier": np.char.add("Q", (every10 + 1).astype(str))})
    countries = real["jurisdictions"][real["jurisdictions"]["level"] != "subdivision"]["jurisdiction_id"].to_numpy()
    items = enum["checklist"]["item"]
    t["checklist"] = pd.DataFrame({"jurisdiction_id": np.repeat(countries, len(items)), "item": np.tile(items, len(countries)),
                                   "status": "not-yet-checked", "entry_id": "", "reviewed": "2026-11-25", "note": ""})
    return t


def write_package(dest: Path, tables: dict[str, pd.DataFrame]) -> Path:
    """A package folder in canonical form: the project's metadata and docs, synthetic data."""
    from aipolicy.reading.csvtext import csv_body

    if dest.exists():
        shutil.rmtree(dest)
    (dest / "data").mkdir(parents=True)
    for name in COPY_FILES:
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "schemas", dest / "schemas")
    shutil.copytree(ROOT / "docs", dest / "docs", ignore=lambda d, names: [x for x in names if x in {"entries", "jurisdictions", "topics", "organizations", "timeline", "img"}])
    for name, frame in tables.items():
        schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text())
        cols = [f["name"] for f in schema["fields"]]
        frame = frame[cols].astype(str).sort_values(schema["primaryKey"], kind="stable")
        body = csv_body(frame.replace({"": None}))  # as `aipolicy fmt` writes it
        (dest / "data" / f"{name}.csv").write_bytes((",".join(cols) + "\n").encode("utf-8") + body)
    return dest


# Known errors at known places: (table, row index in canonical order, column, bad value, rule, frictionless error type)
INJECTED = [
    ("entries", 3, "date", "2017-13-01", "type", "type-error"),
    ("entries", 5, "kind", "masterplan", "enum", "constraint-error"),
    ("entries", 7, "title", "", "required", "constraint-error"),
    ("entries", 9, "language", "EN_gb", "pattern", "constraint-error"),
    ("entries", 11, "summary", "x" * 601, "maxLength", "constraint-error"),
    ("figures", 2, "value", "-5", "minimum", "constraint-error"),
    ("figures", 4, "value", "12,5", "type", "type-error"),
    ("entry_topics", 6, "topic_id", "no-such-topic", "foreign-key", "foreign-key"),
    ("entry_sources", 8, "source_id", "s-missing", "foreign-key", "foreign-key"),
]


def inject_errors(dest: Path) -> list[dict]:
    """Break a valid package at known cells; returns where each error is (file, line, field, kind)."""
    import csv

    known = []
    for table, row, column, value, rule, ftype in INJECTED:
        path = dest / "data" / f"{table}.csv"
        lines = path.read_text(encoding="utf-8").split("\n")
        header = lines[0].split(",")
        cells = next(csv.reader([lines[row + 1]]))
        cells[header.index(column)] = value
        out = __import__("io").StringIO()
        csv.writer(out, lineterminator="").writerow(cells)
        lines[row + 1] = out.getvalue()
        path.write_text("\n".join(lines), encoding="utf-8")
        known.append({"file": f"data/{table}.csv", "line": row + 2, "field": column, "rule": rule, "frictionless": ftype})
    return known


# --- measuring ----------------------------------------------------------------------------------

TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def timed(cmd: list[str], cwd: Path, timeout: float = 3600) -> dict:
    """Wall time, CPU time (user and system, of the process and what it waited for) and peak
    memory (maximum resident set size) of `cmd` in a fresh process. On a shared machine the
    CPU time varies less than the wall time from one run to the next.

    Peak memory comes from GNU time's %M where it is installed: a child forked from this
    (large) process would otherwise report the parent's pages as its own high-water mark.
    """
    start = time.perf_counter()
    marker = "__aipolicy_bench_maxrss_kb__"
    full = [TIME, "-f", f"{marker} %M", *cmd] if TIME else cmd
    proc = subprocess.Popen(full, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    import selectors

    out = bytearray()
    err = bytearray()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, out)
    sel.register(proc.stderr, selectors.EVENT_READ, err)
    deadline = start + timeout
    while sel.get_map():
        if time.perf_counter() > deadline:
            proc.kill()
            break
        for key, _ in sel.select(timeout=1):
            chunk = key.fileobj.read1(1 << 16) if hasattr(key.fileobj, "read1") else key.fileobj.read(1 << 16)
            if not chunk:
                sel.unregister(key.fileobj)
            else:
                key.data.extend(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    stderr = err.decode(errors="replace")
    peak_kb = usage.ru_maxrss
    if marker in stderr:
        tail = stderr.rsplit(marker, 1)[1].split()
        peak_kb = int(tail[0]) if tail and tail[0].isdigit() else peak_kb
        stderr = stderr.rsplit(marker, 1)[0]
    return {"seconds": round(seconds, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3), "peak_mb": round(peak_kb / 1024, 1), "exit": code,
            "stdout": out.decode(errors="replace"), "stderr": stderr[-2000:]}


QUICK = 30.0  # seconds: a command that takes less is timed three times, and the median kept


def measured(cmd: list[str], cwd: Path) -> dict:
    """`timed`, with the median of three runs for a quick command: a single run of a short
    command says as much about the disk cache and the machine's other work as about the
    command. Peak memory is the largest of the runs."""
    first = timed(cmd, cwd)
    if first["seconds"] >= QUICK:
        return first
    runs = sorted([first, timed(cmd, cwd), timed(cmd, cwd)], key=lambda r: r["seconds"])
    return {**runs[1], "peak_mb": max(r["peak_mb"] for r in runs), "runs_s": [r["seconds"] for r in runs]}


# The parse floor the validator is measured against: DuckDB reading every CSV of the package
# with every column as text, strict quoting, nothing checked (the yardstick of #26).
DUCKDB_FLOOR = """
import sys, glob, duckdb
con = duckdb.connect()
for path in sorted(glob.glob(sys.argv[1] + "/data/*.csv")):
    con.execute("SELECT count(*) FROM read_csv(?, all_varchar=true, header=true, strict_mode=true, quote='\\"', escape='\\"')", [path]).fetchone()
"""


def _validate_bench(scales: list[int], work: Path, frictionless_limit: int) -> list[dict]:
    rows = []
    for n in scales:
        label = "real" if n == 0 else f"{n:,}"
        if n == 0:
            pkg = work / "validate-real"
            if pkg.exists():
                shutil.rmtree(pkg)
            shutil.copytree(ROOT, pkg, ignore=shutil.ignore_patterns(".git", ".venv", "site", "dist", "bench", "__pycache__", "docs"))
            n_entries = len(pd.read_csv(pkg / "data" / "entries.csv"))
        else:
            pkg = write_package(work / f"validate-{n}", synthetic_tables(n))
            n_entries = n
        total_rows = sum(max(len(p.read_bytes().split(b"\n")) - 2, 0) for p in (pkg / "data").glob("*.csv"))
        ours = measured([PY, "-m", "aipolicy", "validate", "."], pkg)
        floor = measured([PY, "-c", DUCKDB_FLOOR, "."], pkg)
        theirs = measured([FRICTIONLESS, "validate", "--json", "datapackage.json"], pkg) if n <= frictionless_limit else None
        row = {"scale": label, "entries": n_entries, "rows": total_rows, "aipolicy_s": ours["seconds"], "aipolicy_mb": ours["peak_mb"],
               "aipolicy_valid": ours["exit"] == 0, "aipolicy_rows_per_s": round(total_rows / ours["seconds"]) if ours["seconds"] else None,
               "duckdb_floor_s": floor["seconds"], "duckdb_floor_mb": floor["peak_mb"], "duckdb_floor_ok": floor["exit"] == 0,
               "x_floor_s": round(ours["seconds"] / floor["seconds"], 2) if floor["seconds"] else None,
               "x_floor_mb": round(ours["peak_mb"] / floor["peak_mb"], 2) if floor["peak_mb"] else None,
               "aipolicy_cpu_s": ours["cpu_s"], "duckdb_floor_cpu_s": floor["cpu_s"],
               "x_floor_cpu": round(ours["cpu_s"] / floor["cpu_s"], 2) if floor["cpu_s"] else None,
               "aipolicy_runs_s": ours.get("runs_s"), "duckdb_floor_runs_s": floor.get("runs_s")}  # min, median, max of three
        if theirs:
            row.update(frictionless_s=theirs["seconds"], frictionless_mb=theirs["peak_mb"], frictionless_valid=_frictionless_valid(theirs),
                       ratio=round(theirs["seconds"] / ours["seconds"], 1))
        if n:  # the same package with known errors: both must find them
            bad = work / f"validate-{n}-errors"
            if bad.exists():
                shutil.rmtree(bad)
            shutil.copytree(pkg, bad)
            known = inject_errors(bad)
            ours_bad = timed([PY, "-m", "aipolicy", "validate", "--format", "json", "."], bad)
            found = json.loads(ours_bad["stdout"])["problems"] if ours_bad["stdout"].strip().startswith("{") else []
            hits = sum(any(p["path"] == k["file"] and p["line"] == k["line"] and p["field_name"] == k["field"] and p["rule"] == k["rule"] for p in found) for k in known)
            row.update(errors_injected=len(known), errors_found_by_aipolicy=hits, aipolicy_errors_s=ours_bad["seconds"])
            if n <= frictionless_limit:
                theirs_bad = timed([FRICTIONLESS, "validate", "--json", "datapackage.json"], bad)
                row.update(errors_found_by_frictionless=_frictionless_hits(theirs_bad, known), frictionless_errors_s=theirs_bad["seconds"])
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _frictionless_report(result: dict) -> dict:
    try:
        return json.loads(result["stdout"])
    except ValueError:
        return {}


def _frictionless_valid(result: dict) -> bool:
    return bool(_frictionless_report(result).get("valid"))


def _frictionless_hits(result: dict, known: list[dict]) -> int:
    report = _frictionless_report(result)
    errors = [(task["resource"]["path"] if isinstance(task.get("resource"), dict) else task.get("place"), e.get("rowNumber"), e.get("fieldName"), e.get("type"))
              for task in report.get("tasks", []) for e in task.get("errors", [])]
    return sum(any(path == k["file"] and row == k["line"] and (field == k["field"] or k["frictionless"] == "foreign-key") and etype == k["frictionless"]
                   for path, row, field, etype in errors) for k in known)


LOAD_CODE = {
    "aipolicy.load": "import aipolicy; t = aipolicy.load(path='.'); print(sum(len(x) for x in t.values()))",
    "pandas.read_csv": ("import pandas as pd, glob; t = {p: pd.read_csv(p, dtype=str, keep_default_na=False) for p in glob.glob('data/*.csv')}; "
                        "print(sum(len(x) for x in t.values()))"),
    "frictionless.to_pandas": ("from frictionless import Package; p = Package('datapackage.json'); "
                               "print(sum(len(r.to_pandas()) for r in p.resources))"),
}


def _load_bench(multipliers: list[int], work: Path, real_entries: int, frictionless_limit: int) -> list[dict]:
    rows = []
    for m in multipliers:
        n = real_entries * m
        pkg = write_package(work / f"load-{m}x", synthetic_tables(n))
        row = {"scale": f"{m}x", "entries": n}
        for name, code in LOAD_CODE.items():
            if name.startswith("frictionless") and n > frictionless_limit:
                continue
            result = measured([PY, "-c", code], pkg)
            row[f"{name}_s"] = result["seconds"]
            row[f"{name}_mb"] = result["peak_mb"]
        row["load_vs_read_csv"] = round(row["aipolicy.load_s"] / row["pandas.read_csv_s"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    real = measured([PY, "-c", "import aipolicy; aipolicy.load()"], ROOT)
    rows.append({"scale": "real package: import aipolicy + load()", "entries": real_entries, "aipolicy.load_s": real["seconds"], "aipolicy.load_mb": real["peak_mb"]})
    print(json.dumps(rows[-1]), flush=True)
    return rows


def _docs_bench(multipliers: list[int], work: Path, real_entries: int) -> list[dict]:
    rows = []
    for m in multipliers:
        n = real_entries * m
        pkg = write_package(work / f"docs-{m}x", synthetic_tables(n))
        result = timed([PY, "-m", "aipolicy", "docs", "."], pkg, timeout=7200)
        site = pkg / "site"
        pages = list(site.rglob("*.html")) if site.exists() else []
        sizes = [p.stat().st_size for p in pages]
        generated = int(result["stdout"].split()[1]) if result["exit"] == 0 else None
        rows.append({"scale": f"{m}x", "entries": n, "seconds": result["seconds"], "peak_mb": result["peak_mb"], "generated_pages": generated,
                     "html_pages": len(pages), "ms_per_generated_page": round(1000 * result["seconds"] / generated, 2) if generated else None,
                     "site_mb": round(sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1e6, 1) if site.exists() else None,
                     "largest_page_kb": round(max(sizes) / 1024, 1) if sizes else None, "exit": result["exit"]})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _table(rows: list[dict]) -> str:
    if not rows:
        return ""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join("" if r.get(k) is None else str(r.get(k)) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["validate", "load", "docs"], action="append", help="run only these benchmarks")
    parser.add_argument("--scales", default="0,1000,100000,1000000", help="entries per synthetic package for the validator; 0 is the real data")
    parser.add_argument("--multipliers", default="1,10,100", help="multiples of the real number of entries, for the loader and the docs")
    parser.add_argument("--frictionless-limit", type=int, default=1_000_000, help="largest scale at which frictionless is run too")
    args = parser.parse_args(argv)
    only = set(args.only or ["validate", "load", "docs"])
    work = BENCH / "packages"
    work.mkdir(parents=True, exist_ok=True)
    real_entries = len(pd.read_csv(ROOT / "data" / "entries.csv"))
    # Every run measured is a user's second run: the tool's bytecode is written, even where
    # PYTHONDONTWRITEBYTECODE would otherwise have each run compile its modules again.
    import compileall

    compileall.compile_dir(ROOT / "scripts" / "aipolicy", quiet=1)
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "real_entries": real_entries}
    if "validate" in only:
        results["validate"] = _validate_bench([int(x) for x in args.scales.split(",")], work, args.frictionless_limit)
    if "load" in only:
        results["load"] = _load_bench([int(x) for x in args.multipliers.split(",")], work, real_entries, args.frictionless_limit)
    if "docs" in only:
        results["docs"] = _docs_bench([int(x) for x in args.multipliers.split(",")], work, real_entries)
    out = BENCH / "results.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for name in ("validate", "load", "docs"):
        if name in results:
            print(f"\n## {name}\n\n{_table(results[name])}")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
