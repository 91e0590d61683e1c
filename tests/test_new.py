"""`aipolicy new`: add rows with flags or prompts; nothing written unless the package validates."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from aipolicy.checking.validate import validate
from conftest import run_cli

ENTRY_FLAGS = [
    "--title", "Interim Measures for the Management of Generative AI Services (test copy)", "--title-local", "生成式人工智能服务管理暂行办法",
    "--language", "zh", "--kind", "regulation", "--jurisdiction-id", "CN", "--date", "2023-07-13", "--date-precision", "day",
    "--status", "in-force", "--title-provenance", "own-translation",
    "--summary", "Rules for providers of generative AI services offered to the public in China.",
    "--source-kind", "official-document", "--source-title", "Interim Measures for the Management of Generative AI Services",
    "--source-publisher", "Cyberspace Administration of China", "--source-date", "2023-07-13", "--source-date-precision", "day",
    "--source-url", "https://example.org/measures", "--source-language", "zh",
    "--topic", "industrial-policy", "--organization", "cn-state-council:issuer", "--yes",
]


def snapshot(pkg):
    return {p.name: p.read_bytes() for p in (pkg.root / "data").glob("*.csv")}


def test_new_entry_with_its_source_from_flags(pkg):
    result = run_cli("new", "entry", *ENTRY_FLAGS, "--path", str(pkg.root))
    assert result.returncode == 0, result.stderr
    entry_id = "cn-2023-interim-measures-management-generative-ai-services"
    assert f"added entry {entry_id}" in result.stdout
    assert pkg.find_line("entries", entry_id)
    assert pkg.find_line("entry_sources", entry_id)
    assert pkg.find_line("entry_topics", entry_id + ",industrial-policy")
    assert pkg.find_line("entry_organizations", entry_id + ",cn-state-council,issuer")
    assert [p.text() for p in validate(pkg.root)] == []  # canonical order, every rule kept


def test_a_wrong_reference_is_refused_with_the_closest_ids(pkg):
    before = snapshot(pkg)
    flags = [f if f != "cn-state-council:issuer" else "cn-state-counci:issuer" for f in ENTRY_FLAGS]
    result = run_cli("new", "entry", *flags, "--path", str(pkg.root))
    assert result.returncode == 1
    assert "did you mean cn-state-council?" in result.stderr and "Traceback" not in result.stderr
    assert snapshot(pkg) == before


def test_an_addition_that_would_not_validate_writes_nothing(pkg):
    before = snapshot(pkg)
    flags = list(ENTRY_FLAGS)
    flags[flags.index("2023-07-13")] = "2023-02-30"
    result = run_cli("new", "entry", *flags, "--path", str(pkg.root))
    assert result.returncode == 1
    assert 'date "2023-02-30" is not a valid date (YYYY-MM-DD) [type]' in result.stderr
    assert "nothing was written" in result.stderr
    assert snapshot(pkg) == before


def test_new_source_cited_from_an_existing_entry(pkg):
    result = run_cli("new", "source", "--kind", "web-page", "--title", "A page about the plan", "--publisher", "Example Institute",
                     "--date", "2018-01-05", "--date-precision", "day", "--url", "https://example.org/plan", "--language", "en",
                     "--cite-from", "cn-2017-new-generation-ai-development-plan", "--yes", "--path", str(pkg.root))
    assert result.returncode == 0, result.stderr
    assert pkg.find_line("sources", "example-institute-2018-page-about-plan")
    assert pkg.find_line("entry_sources", "cn-2017-new-generation-ai-development-plan,example-institute-2018-page-about-plan")


def test_new_source_that_nothing_cites_is_refused(pkg):
    before = snapshot(pkg)
    result = run_cli("new", "source", "--kind", "web-page", "--title", "An orphan page", "--date", "2018-01-05",
                     "--date-precision", "day", "--url", "https://example.org/orphan", "--language", "en", "--yes", "--path", str(pkg.root))
    assert result.returncode == 1 and "[source-cited]" in result.stderr
    assert snapshot(pkg) == before


def _converse(args: list[str], answers: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run the command on a real pseudo-terminal and answer each prompt as it appears."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aipolicy", *args], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    pending = list(answers)
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            while out.count(b"> ") > len(answers) - len(pending) and pending:
                os.write(master, (pending.pop(0) + "\n").encode())
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, out.decode(errors="replace")


def test_new_organization_by_answering_prompts(pkg):
    answers = ["Cyberspace Administration of China", "国家互联网信息办公室", "CAC", "regulator", "CN", "", "", "", "https://www.cac.gov.cn/",
               "Regulator of internet content, data and algorithms in China.", "", ""]
    code, screen = _converse(["new", "organization", "--path", str(pkg.root)], answers)
    assert code == 0, screen
    assert "organization_id" in screen and "(default cn-cac)" in screen
    assert pkg.find_line("organizations", "cn-cac,Cyberspace Administration of China,国家互联网信息办公室,CAC,regulator,CN")
    assert [p.text() for p in validate(pkg.root)] == []


def test_a_new_entry_shows_up_in_the_docs_build(tmp_path):
    from aipolicy.outputs.site import build_site
    from test_docs import docs_package

    pkg = docs_package(tmp_path / "pkg")
    result = run_cli("new", "entry", *ENTRY_FLAGS, "--path", str(pkg.root))
    assert result.returncode == 0, result.stderr
    _, site = build_site(pkg.root)
    page = site / "entries" / "cn-2023-interim-measures-management-generative-ai-services" / "index.html"
    assert "Interim Measures for the Management of Generative AI Services (test copy)" in page.read_text(encoding="utf-8")


def test_new_entry_with_other_names_and_identifiers(pkg):
    result = run_cli("new", "entry", *ENTRY_FLAGS, "--other-name", "popular-name:en:Generative AI Measures",
                     "--other-name", "short-title:zh:生成式人工智能办法", "--identifier", "wikidata:Q123456", "--path", str(pkg.root))
    assert result.returncode == 0, result.stderr
    entry_id = "cn-2023-interim-measures-management-generative-ai-services"
    assert pkg.find_line("entry_names", f"{entry_id},Generative AI Measures,popular-name,en")
    assert pkg.find_line("entry_names", f"{entry_id},生成式人工智能办法,short-title,zh")
    assert pkg.find_line("identifiers", f"{entry_id},wikidata,Q123456")


def test_a_malformed_other_name_is_refused_with_the_form(pkg):
    before = snapshot(pkg)
    result = run_cli("new", "entry", *ENTRY_FLAGS, "--other-name", "Generative AI Measures", "--path", str(pkg.root))
    assert result.returncode == 1
    assert result.stderr.strip() == ("aipolicy new entry: --other-name 'Generative AI Measures' is not KIND:LANGUAGE:NAME "
                                     "(for example popular-name:en:Colorado AI Act)")
    assert snapshot(pkg) == before


def test_a_bad_identifier_form_is_refused_before_writing(pkg):
    before = snapshot(pkg)
    result = run_cli("new", "entry", *ENTRY_FLAGS, "--identifier", "celex:2024/1689", "--path", str(pkg.root))
    assert result.returncode == 1 and '[identifier-form]' in result.stderr and "nothing was written" in result.stderr
    assert snapshot(pkg) == before


# --- messages that point at the fix ---------------------------------------------------------

def test_a_jurisdiction_in_other_capitals_gets_did_you_mean(pkg):
    flags = [f if f != "CN" else "cn" for f in ENTRY_FLAGS]
    result = run_cli("new", "entry", *flags, "--path", str(pkg.root))
    assert result.returncode == 1
    assert result.stderr.strip() == ("aipolicy new entry: jurisdiction_id 'cn' is not a jurisdiction_id in data/jurisdictions.csv; "
                                     "did you mean CN? IDs are case-sensitive")


def test_an_unknown_topic_says_the_taxonomy_is_controlled(pkg):
    flags = [f if f != "industrial-policy" else "ai-ethics" for f in ENTRY_FLAGS]
    result = run_cli("new", "entry", *flags, "--path", str(pkg.root))
    assert result.returncode == 1
    assert result.stderr.strip().startswith("aipolicy new entry: topic_id 'ai-ethics' is not a topic_id in data/topics.csv; "
                                            "topics are a controlled taxonomy; choose one of: defence-and-security, digital-infrastructure, ")
    assert result.stderr.strip().endswith("(to propose a new topic, open an issue)")


def test_an_unknown_source_names_the_flags_that_create_one(pkg):
    flags = ENTRY_FLAGS[: ENTRY_FLAGS.index("--source-kind")] + ENTRY_FLAGS[ENTRY_FLAGS.index("--topic"):]
    result = run_cli("new", "entry", *flags, "--source", "nowhere-2023-unknown", "--path", str(pkg.root))
    assert result.returncode == 1
    assert result.stderr.strip() == ("aipolicy new entry: source_id 'nowhere-2023-unknown' is not a source_id in data/sources.csv; "
                                     "to cite a new source, describe it with --source-kind, --source-title, --source-url, --source-language "
                                     "(and --source-publisher, --source-date); or give the source_id of an existing source")


def test_an_entry_without_a_source_says_how_to_give_one(pkg):
    flags = ENTRY_FLAGS[: ENTRY_FLAGS.index("--source-kind")] + ENTRY_FLAGS[ENTRY_FLAGS.index("--topic"):]
    result = run_cli("new", "entry", *flags, "--path", str(pkg.root))
    assert result.returncode == 1
    assert result.stderr.strip() == ("aipolicy new entry: an entry needs at least one source: give --source SOURCE_ID for a source the "
                                     "atlas has, or describe a new one with --source-kind, --source-title, --source-url and --source-language")


def test_a_duplicate_key_shows_the_whole_key_and_the_earlier_line(pkg):
    first = pkg.lines("entry_topics")[1]
    line = pkg.append("entry_topics", first)
    from aipolicy.checking.validate import validate

    found = [p for p in validate(pkg.root) if p.rule == "primary-key"]
    entry, topic = first.split(",")
    assert [(p.line, p.message) for p in found] == [(line, f'primary key (entry_id, topic_id) = ("{entry}", "{topic}") is already used by the row on line 2')]


def test_a_bad_language_is_reported_once(pkg):
    from aipolicy.checking.validate import validate

    pkg.set_cell("entries", 2, "language", "Chinese")
    found = [p for p in validate(pkg.root) if p.path == "data/entries.csv" and p.line == 2]
    assert [p.rule for p in found] == ["pattern"]


def test_new_date_adds_a_lifecycle_event(pkg):
    entry = "cn-2017-new-generation-ai-development-plan"
    source = pkg.lines("entry_sources")[1].split(",")[1]
    result = run_cli("new", "date", "--entry-id", entry, "--event", "amended", "--date", "2019-05-01", "--date-precision", "month",
                     "--source-id", source, "--note", "added for the test", "--yes", "--path", str(pkg.root))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"added date amended 2019-05-01 of {entry}; wrote data/entry_dates.csv"
    assert pkg.find_line("entry_dates", f"{entry},amended,2019-05-01,month,{source},added for the test")


def test_interactive_answers_are_checked_as_typed(pkg, monkeypatch):
    """A wrong kind or language is refused at once and asked again; nothing typed is lost."""
    import io

    from aipolicy import new as new_module
    answers = iter(["Interim Measures for Generative AI (interactive test)", "", "own-translation", "", "Chinese", "zh", "frameworkk", "regulation",
                    "CN", "2023-07-13", "", "in-force", "", "Rules for generative AI services in China.", "", "",
                    "industrial-policy", "cn-state-council:issuer", "published:2023-07-13", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    out = io.StringIO()
    monkeypatch.setattr(new_module.Asker, "__init__", lambda self, interactive, out_=out: (setattr(self, "interactive", interactive), setattr(self, "out", out_))[0])
    source = pkg.lines("entry_sources")[1].split(",")[1]
    written, row = new_module.new("entry", {"package_path": str(pkg.root), "link_source": source}, interactive=True)
    shown = out.getvalue()
    assert "language 'Chinese' does not have the right form" in shown and "please try again" in shown
    assert "kind 'frameworkk' is not one of the allowed values; please try again" in shown
    assert row["kind"] == "regulation" and row["language"] == "zh"
    assert pkg.find_line("entry_dates", f"{row['entry_id']},published,2023-07-13,day,{source},")
    assert pkg.find_line("entry_topics", f"{row['entry_id']},industrial-policy")


def test_the_public_body_kinds_are_organization_kinds():
    import json

    from aipolicy.new import PUBLIC_BODIES
    from conftest import ROOT

    schema = json.loads((ROOT / "schemas" / "organizations.schema.json").read_text(encoding="utf-8"))
    kinds = next(f for f in schema["fields"] if f["name"] == "kind")["constraints"]["enum"]
    assert PUBLIC_BODIES <= set(kinds)
