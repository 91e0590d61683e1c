"""Title provenance, other names, crosswalk identifiers and the coverage checklist: each rule
gives one located problem with its exact message."""
from __future__ import annotations

import pytest

from aipolicy.checking.validate import validate
from conftest import Pkg

PLAN = "cn-2017-new-generation-ai-development-plan"


def only(pkg: Pkg, rule: str):
    found = [p for p in validate(pkg.root) if p.rule == rule]
    assert len(found) == 1, [p.text() for p in validate(pkg.root)]
    return found[0]


def test_an_english_entry_cannot_have_a_translated_title(pkg):
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "language", "en")
    column = pkg.set_cell("entries", line, "title_provenance", "own-translation")
    p = only(pkg, "title-provenance")
    assert (p.path, p.line, p.column) == ("data/entries.csv", line, column)
    assert p.message == 'title_provenance "own-translation" is a translation, but the entry\'s language is English'
    assert p.hint == ("an English-language entry's title is the issuer's own: use official (composed when the official title was not seen; "
                      "description for an event without a title)")


def test_a_third_party_translation_must_name_its_source(pkg):
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "title_provenance", "third-party-translation")
    p = only(pkg, "title-provenance")
    assert p.line == line and p.message == "title_source_id must be given exactly when title_provenance is third-party-translation"


def test_a_title_source_must_be_cited_by_the_entry(pkg):
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "title_provenance", "third-party-translation")
    pkg.set_cell("entries", line, "title_source_id", "ce-2019-mentougou-ai-park")  # a source of another entry
    p = only(pkg, "title-source-cited")
    assert p.line == line and p.message == 'title_source_id "ce-2019-mentougou-ai-park" is not one of the entry\'s cited sources'


def test_a_cited_third_party_translation_is_valid(pkg):
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "title_provenance", "third-party-translation")
    pkg.set_cell("entries", line, "title_source_id", "flia-2017-ai-plan-translation")
    assert [p.text() for p in validate(pkg.root)] == []


def test_a_document_with_a_description_for_a_title_is_flagged(pkg):
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "title_provenance", "description")
    p = only(pkg, "title-provenance")
    assert p.message == 'a document has a description instead of a title (title_provenance "description")'


def test_an_event_may_be_described(pkg):
    line = pkg.find_line("entries", "cn-bj-2018-mentougou-ai-park")
    pkg.set_cell("entries", line, "title_provenance", "description")
    assert [p.text() for p in validate(pkg.root)] == []


def test_an_other_name_may_not_repeat_the_title(pkg):
    pkg.append("entry_names", f"{PLAN},new generation artificial intelligence development plan,popular-name,en")
    pkg.delete_lines("entry_names", f"{PLAN},AIDP")  # keep the table sorted: the new row is last
    line = pkg.find_line("entry_names", f"{PLAN},new generation")
    p = only(pkg, "other-name")
    assert (p.path, p.line) == ("data/entry_names.csv", line) and p.message.startswith('name "new generation artificial intelligence development plan" repeats')


@pytest.mark.parametrize("scheme,value,good", [
    ("celex", "32024R1689", True), ("celex", "2024/1689", False),
    ("federal-register", "2023-24283", True), ("federal-register", "FR 2023-24283", False),
    ("congress-bill", "118-hr-4763", True), ("congress-bill", "H.R. 4763", False),
    ("wikidata", "Q60750346", True), ("wikidata", "60750346", False),
    ("eli", "http://data.europa.eu/eli/reg/2024/1689/oj", True), ("eli", "data.europa.eu/reg/2024/1689", False),
    ("agora", "https://agora.eto.tech/instrument/1234", True), ("oecd-ai", "https://example.org/x", False),
])
def test_identifiers_have_the_form_of_their_scheme(pkg, scheme, value, good):
    pkg.write("data/identifiers.csv", f"entry_id,scheme,identifier\n{PLAN},{scheme},{value}\n")
    found = [p for p in validate(pkg.root) if p.rule == "identifier-form"]
    assert (found == []) == good, [p.text() for p in found]
    if not good:
        assert found[0].message == f'identifier "{value}" is not in the form of its scheme' and (found[0].line, found[0].column) == (2, 3)


def test_a_present_checklist_item_names_its_entry(pkg):
    line = pkg.find_line("checklist", "CN,national-strategy")
    pkg.set_cell("checklist", line, "entry_id", "")
    p = only(pkg, "checklist-entry")
    assert p.line == line and p.message == "entry_id must be given exactly when status is present"


def test_a_checklist_entry_must_exist(pkg):
    line = pkg.find_line("checklist", "CN,national-strategy")
    pkg.set_cell("checklist", line, "entry_id", "cn-2017-no-such-plan")
    p = only(pkg, "foreign-key")
    assert p.path == "data/checklist.csv" and p.line == line


@pytest.mark.parametrize("event", ["introduced", "passed-chamber", "vetoed", "lapsed"])
def test_legislative_events_are_allowed(pkg, event):
    pkg.append("entry_dates", f"{PLAN},{event},2017-07-01,day,caixin-2017-ai-world-leader-2025,")
    from aipolicy.reading.package import read_package
    from aipolicy.reading.canonical import rewrite

    rewrite(read_package(pkg.root))
    assert [p.text() for p in validate(pkg.root) if p.rule == "enum"] == []


# --- the outputs ---------------------------------------------------------------------------

import sqlite3  # noqa: E402
import subprocess  # noqa: E402

from conftest import needs, run_cli  # noqa: E402


def test_the_full_text_index_finds_an_entry_by_a_name_not_in_its_title(built_package):
    pkg, dist = built_package
    con = sqlite3.connect(next(dist.glob("*.sqlite")))
    assert con.execute("SELECT entry_id FROM entries_fts WHERE entries_fts MATCH 'AIDP'").fetchall() == [(PLAN,)]
    assert con.execute("SELECT entry_id FROM entries_fts WHERE entries_fts MATCH '人工智能发展'").fetchall() == [(PLAN,)]
    assert "AIDP" not in con.execute("SELECT title FROM entries WHERE entry_id = ?", (PLAN,)).fetchone()[0]


def test_regions_come_from_m49_and_foreign_keys_are_indexed(built_package):
    _, dist = built_package
    con = sqlite3.connect(next(dist.glob("*.sqlite")))
    assert con.execute("SELECT region, subregion FROM jurisdiction_regions WHERE jurisdiction_id = 'CN-BJ'").fetchone() == ("Asia", "Eastern Asia")
    indexed = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'")}
    assert "idx_entries_title_source_id" in indexed and "idx_entry_sources_source_id" in indexed


def test_the_flat_csv_carries_provenance_names_identifiers_and_region(built_package):
    import csv

    _, dist = built_package
    rows = {r["entry_id"]: r for r in csv.DictReader(next(dist.glob("*.entries-flat.csv")).read_text(encoding="utf-8").splitlines())}
    plan = rows[PLAN]
    assert plan["title_provenance"] == "own-translation" and plan["other_names"] == "AIDP; 新一代规划"
    assert plan["identifiers"] == "wikidata:Q60750346" and (plan["region"], plan["subregion"]) == ("Asia", "Eastern Asia")


def test_a_citation_marks_an_unofficial_translation(pkg):
    result = run_cli("cite", str(pkg.root), "--entry", PLAN, "--format", "text")
    assert "New Generation Artificial Intelligence Development Plan [unofficial translation of the title by the atlas]." in result.stdout
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "title_provenance", "official-translation")
    result = run_cli("cite", str(pkg.root), "--entry", PLAN, "--format", "text")
    assert "unofficial" not in result.stdout


@needs("bibtex", "biber", "lualatex", tex=("plain.bst", "biblatex.sty"),
       reason="needs TeX Live, biber and LuaLaTeX (.ci/run installs them)")
@pytest.mark.parametrize("fmt", ["bibtex", "biblatex"])
def test_the_translation_mark_survives_bibtex_and_biber(pkg, tmp_path, fmt):
    bib = run_cli("cite", str(pkg.root), "--entry", PLAN, "--format", fmt)
    assert bib.returncode == 0, bib.stderr
    (tmp_path / "refs.bib").write_text(bib.stdout, encoding="utf-8")
    if fmt == "bibtex":
        (tmp_path / "doc.aux").write_text("\\relax\n\\citation{*}\n\\bibstyle{plain}\n\\bibdata{refs}\n")
        result = subprocess.run(["bibtex", "doc"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        log = (tmp_path / "doc.blg").read_text(errors="replace")
        assert result.returncode == 0 and "Warning" not in log, result.stdout + log
    else:
        (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage[backend=biber]{biblatex}\n\\addbibresource{refs.bib}\n"
                                          "\\begin{document}\n\\nocite{*}\n\\printbibliography\n\\end{document}\n")
        subprocess.run(["lualatex", "-interaction=nonstopmode", "doc.tex"], cwd=tmp_path, capture_output=True, timeout=300)
        result = subprocess.run(["biber", "doc"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0 and "WARN" not in result.stdout and "ERROR" not in result.stdout, result.stdout
    bbl = (tmp_path / "doc.bbl").read_text(encoding="utf-8")
    assert "unofficial translation of the title by the atlas" in bbl


def test_every_country_has_a_row_for_each_checklist_item(pkg):
    pkg.delete_lines("checklist", "CN,oversight-body,")
    p = only(pkg, "checklist-complete")
    assert (p.path, p.line) == ("data/jurisdictions.csv", pkg.find_line("jurisdictions", "CN,"))
    assert p.message == 'jurisdiction "CN" lacks checklist rows for oversight-body'


def test_subdivisions_need_no_checklist(pkg):
    assert not [p for p in validate(pkg.root) if p.rule == "checklist-complete"]


def test_an_english_entry_has_no_local_title(pkg):
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "language", "en")
    pkg.set_cell("entries", line, "title_provenance", "official")
    p = only(pkg, "title-local")
    assert p.message == 'title_local "新一代人工智能发展规划" is given for an entry whose original language is English'


def test_a_local_title_may_not_repeat_the_english_one(pkg):
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "title_local", "New Generation Artificial Intelligence Development Plan")
    p = only(pkg, "title-local")
    assert p.message == 'title_local "New Generation Artificial Intelligence Development Plan" repeats the English title'


def test_every_country_of_the_live_data_has_an_m49_region():
    import csv

    from aipolicy.outputs.regions import region_of
    from conftest import ROOT

    rows = list(csv.DictReader((ROOT / "data" / "jurisdictions.csv").read_text(encoding="utf-8").splitlines()))
    missing = [r["jurisdiction_id"] for r in rows if r["level"] in ("country", "subdivision") and region_of(r["jurisdiction_id"], r["level"])[0] is None]
    assert missing == []
    assert region_of("GB", "country") == ("Europe", "Northern Europe") and region_of("GR", "country") == ("Europe", "Southern Europe")


def test_a_composed_title_is_allowed_for_an_english_document_and_marked(pkg):
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "language", "en")
    pkg.set_cell("entries", line, "title_local", "")
    pkg.set_cell("entries", line, "title_provenance", "composed")
    assert [p.text() for p in validate(pkg.root)] == []
    result = run_cli("cite", str(pkg.root), "--entry", PLAN, "--format", "text")
    assert "[title composed by the atlas, not the official title]" in result.stdout


def test_a_source_title_in_brackets_is_a_description_not_a_title(pkg):
    line = 2
    column = pkg.set_cell("sources", line, "title", "[Report on the State Council plan]")
    p = only(pkg, "source-title")
    assert (p.line, p.column) == (line, column)
    assert p.message == 'source title "[Report on the State Council plan]" is a description in brackets, not the title as published'
    assert "set title_basis to description" in p.hint
    pkg.set_cell("sources", line, "title", "[IP Alert] How the State Council plan will change AI")
    assert not [q for q in validate(pkg.root) if q.rule == "source-title"]


def test_a_title_basis_is_one_of_its_values(pkg):
    line = 2
    pkg.set_cell("sources", line, "title_basis", "guessed")
    p = only(pkg, "enum")
    assert p.message == 'title_basis "guessed" is not one of the allowed values'



def test_citations_say_when_a_source_title_was_not_read_on_the_page(pkg):
    """A description is shown in square brackets (as citation styles mark a description);
    a title taken from the web address says so."""
    import pandas as pd

    from aipolicy.outputs.bibtex import TITLE_FROM_ADDRESS, source_entry
    from aipolicy.outputs.site import Site
    from aipolicy.reading.package import read_package

    described = "ecns-2018-mentougou-ai-park"
    site = Site(read_package(pkg.root, strict=False))
    row = {k: (None if pd.isna(v) else v) for k, v in site.sources.loc[described].items()}  # as the build hands rows over
    assert row["title_basis"] == "description"
    _, fields = source_entry(row, biblatex=True)
    assert fields["title"] == "{[Report on the plan for an artificial intelligence technology park in Mentougou, Beijing]}"
    assert "[Report on the plan" in site.reference(described)

    line = pkg.find_line("sources", described)
    pkg.set_cell("sources", line, "title_basis", "from-address")
    pkg.set_cell("sources", line, "title", "Beijing plans AI technology park in Mentougou")
    site = Site(read_package(pkg.root, strict=False))
    row = {k: (None if pd.isna(v) else v) for k, v in site.sources.loc[described].items()}
    _, fields = source_entry(row, biblatex=False)
    assert fields["title"] == "{Beijing plans AI technology park in Mentougou}"
    assert TITLE_FROM_ADDRESS in fields["note"]
    assert "Title taken from the page's web address." in site.reference(described)


def test_the_coverage_page_counts_the_sources_whose_title_was_not_read(pkg):
    from aipolicy.outputs.site import Site
    from aipolicy.reading.package import read_package

    html = Site(read_package(pkg.root, strict=False)).coverage()
    assert "1 of " in html and "sources have a title that could not be read on their page: 1 carry a description" in html


def english(pkg: Pkg, title: str, provenance: str = "official") -> tuple[int, int]:
    """Make the plan an English original with `title`: its line and the title's column."""
    line = pkg.find_line("entries", PLAN)
    pkg.set_cell("entries", line, "language", "en")
    pkg.set_cell("entries", line, "title_local", "")
    pkg.set_cell("entries", line, "title_provenance", provenance)
    return line, pkg.set_cell("entries", line, "title", title)


@pytest.mark.parametrize("title", ["Cloud and AI Development Act (proposal)", "AI Policy (draft)", "AI Profile, preliminary draft",
                                   "Use of AI in Government (special audit)"])
def test_an_official_title_may_not_carry_a_qualifier_of_the_atlas(pkg, title):
    line, column = english(pkg, title)
    p = only(pkg, "title-provenance")
    assert (p.path, p.line, p.column) == ("data/entries.csv", line, column)
    assert p.message == f'title "{title}" ends in a qualifier of the atlas\'s own, which is not part of the document\'s title'


@pytest.mark.parametrize("provenance, title", [("composed", "AI Policy (draft)"), ("official", "AI Policy (Draft)"),
                                               ("official", "Draft AI Policy"), ("official", "AI Policy (draft) Regulations")])
def test_a_qualifier_is_fine_in_a_composed_title_and_an_issuers_own_is_left_alone(pkg, provenance, title):
    english(pkg, title, provenance)
    assert [p.text() for p in validate(pkg.root)] == []


def test_a_translated_title_may_not_carry_a_qualifier_of_the_atlas_either(pkg):
    line = pkg.find_line("entries", PLAN)  # an own translation of a Chinese title
    column = pkg.set_cell("entries", line, "title", "New Generation Artificial Intelligence Development Plan (draft)")
    p = only(pkg, "title-provenance")
    assert (p.line, p.column) == (line, column) and "ends in a qualifier of the atlas's own" in p.message
