"""Hostile file names and article text printed by the real CLI (issue 12, item 7).

Every command runs in its own process, output captured as bytes: what a terminal would
receive. Nothing raw may get through (ESC, C1, bidi overrides), a newline in a file name
or a name must not start a line of its own (a forged "documents: 99 added"), Rich markup in
data must be printed, not obeyed, and CSV cells must not be formulas."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from allegiance import textsafe
from allegiance.store import Store
from conftest import build_extraction

ROOT = Path(__file__).resolve().parents[1]

# what must never reach a terminal raw (newline is checked separately, as forged lines)
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
FORGED = "documents: 99 added"

# --- a store filled by hand: every field a printer shows carries something hostile --------
DOC_ID = f"x\n{FORGED}\x1b[2J.txt"
NAME_A = "\x1b[31mAlpha Front[bold] \u202eevil\u202c\x9b2J"
NAME_B = f"Beta\n{FORGED}"
EVIDENCE = (f"{NAME_A} attacked Tindouf, killing 2.\n{FORGED}\n"
            "[link=http://x.invalid]click[/link] \u2066x\u2069")
EVIDENCE_B = f"Alpha Front is allied with {NAME_B}."
TEXT = f"{EVIDENCE} Alpha Front again. {EVIDENCE_B}"
TITLE = '=HYPERLINK("http://x.invalid")\x1b]0;pwned\x07'
ATTRIBUTED = "@SUM(1+1)\x1b[5m"


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    env["COLUMNS"] = "100"
    env.update(extra)
    return env


def cli(*args, **env: str) -> subprocess.CompletedProcess:
    """The real command in its own process; stdout/stderr as bytes."""
    return subprocess.run([sys.executable, "-m", "allegiance", *map(str, args)], capture_output=True,
                          timeout=300, env=_env(**env), cwd=str(ROOT))


def decoded(data: bytes) -> str:
    return data.decode("utf-8")  # strict: a lone surrogate written raw would fail here


def assert_terminal_safe(data: bytes, csv_lines: bool = False) -> str:
    text = decoded(data)
    if csv_lines:  # the csv module ends rows with \r\n; a \r inside a cell would be escaped
        text = text.replace("\r\n", "\n")
    bad = sorted({f"U+{ord(c):04X}" for c in RAW.findall(text)})
    assert not bad, f"raw control characters reached the terminal: {bad}"
    return text


def assert_no_forged_line(text: str, allowed: tuple[str, ...] = ()) -> None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("documents:")]
    assert lines == list(allowed), lines


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "h.duckdb"
    ex = build_extraction(
        DOC_ID, TEXT,
        [
            ("e1", "ORG", NAME_A, ["Alpha Front"], None),
            ("e2", "ORG", NAME_B, [], None),
            ("e3", "PLACE", "Tindouf", ["Tindouf"], "tindouf"),
        ],
        [
            ("e1", "attacked", "e3", EVIDENCE,
             {"attributes": {"killed": 2, "place": "e3"}, "attributed_to": ATTRIBUTED, "confidence": 0.8}),
            ("e1", "allied_with", "e2", EVIDENCE_B),
        ],
        published="2015-02-03",
        title=TITLE,
    )
    with Store(path) as s:
        s.add_extraction(ex)
    return path


# --- the escaping itself -----------------------------------------------------------------
def test_clean_escapes_every_listed_character_visibly():
    listed = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
              0x2028, 0x2029, 0xDCFF]
    for cp in listed:
        out = textsafe.clean(f"a{chr(cp)}b")
        assert not RAW.search(out) and "\n" not in out, hex(cp)
        assert out.startswith("a\\") and out.endswith("b") and len(out) > 3, (hex(cp), out)
    assert textsafe.clean("x\ny\tz\r") == "x\\ny\\tz\\r"
    assert textsafe.clean("\x1b[31m\u202e\x9b") == "\\x1b[31m\\u202e\\x9b"
    # ordinary text, other scripts and the marks RTL text needs are left alone
    for s in ("al-Qaeda in the Islamic Maghreb", "الدولة الإسلامية\u200f", "Ansar al-Sharia → AQIM “x”"):
        assert textsafe.clean(s) == s


def test_csv_cell_neutralises_text_and_keeps_numbers():
    cell = textsafe.csv_cell
    for s in ("=1+1", "+1", "-1 dead", "@SUM(A1)"):
        assert cell(s) == "'" + s
    assert cell("\t=1") == "\\t=1" and cell("\r=1") == "\\r=1"  # escaped: no longer a leading tab/CR
    assert cell(-8.15) == -8.15 and cell(-3) == -3 and cell(True) == "true" and cell(None) == ""
    assert cell("a=b") == "a=b" and cell({"k": "=x"}) == '{"k": "=x"}'


def test_json_text_is_the_same_json_without_raw_controls():
    value = {"s": "\x1b[2J\x9b\u202e\u2066\u2028\x7f ok"}
    out = textsafe.json_text(json.dumps(value, ensure_ascii=False))
    assert json.loads(out) == value and not RAW.search(out)


def test_console_guard_escapes_what_a_caller_forgot_to_clean():
    from rich.text import Text

    buf = io.StringIO()
    con = textsafe.SafeConsole(file=buf, force_terminal=True, width=100, highlight=False)
    con.print(Text("raw \x1b]0;pwned\x1b\\ \x9b2J \u202eevil", style="bold"))
    out = buf.getvalue()
    assert "\x1b[1m" in out  # Rich's own styling still works
    assert not RAW.search(re.sub(r"\x1b\[[0-9;]*m", "", out))
    assert "\\x1b]0;pwned" in out and "\\u202e" in out


def test_eval_report_prints_hostile_doc_ids_and_names():
    """A rule title and the MISS lines are parsed as markup: '[/]' in a file name used to
    raise MarkupError, '[bold]' to style."""
    from allegiance.eval.report import render_report
    from allegiance.eval.scoring import score_corpus

    gold = {
        "doc_id": f"[/]{FORGED}\n\x1b[2J.txt",
        "entities": [{"id": "a\x1b[2J", "type": "ORG", "name": NAME_A, "aliases": []},
                     {"id": "[bold]B[/bold]", "type": "ORG", "name": "B", "aliases": []}],
        "facts": [{"subject": "a\x1b[2J", "relation": "allied_with", "object": "[bold]B[/bold]", "evidence": EVIDENCE,
                   "optional": False, "attributes": {}, "attributed_to": None}],
    }
    buf = io.StringIO()
    render_report(score_corpus([gold], []), textsafe.SafeConsole(file=buf, width=200), errors=True)
    out = buf.getvalue()
    assert not RAW.search(out)
    assert "[/]" in out and "MISS a\\x1b[2J --allied_with--> [bold]B[/bold]" in out
    assert_no_forged_line(out)


# --- the real CLI on the hostile store ---------------------------------------------------
def test_show_escapes_names_titles_and_evidence(hostile_db):
    r = cli("show", "Alpha Front", "--db", hostile_db)
    assert r.returncode == 0, r.stderr
    out = assert_terminal_safe(r.stdout)
    assert_terminal_safe(r.stderr)
    assert_no_forged_line(out)
    # visible, not lost, not obeyed
    assert "\\x1b[31mAlpha Front[bold] \\u202eevil\\u202c\\x9b2J" in out
    assert f"x\\n{FORGED}\\x1b[2J.txt" in out and "\\x1b]0;pwned\\x07" in out
    assert "[link=http://x.invalid]click[/link]" in out and "\\u2066x\\u2069" in out
    assert f"Beta\\n{FORGED}" in out


@pytest.mark.parametrize("args", [("facts",), ("actors",), ("facts", "--actor", "Alpha Front", "--limit", "1")])
def test_tables_escape_cells(hostile_db, args):
    r = cli(*args, "--db", hostile_db)
    assert r.returncode == 0, r.stderr
    out = assert_terminal_safe(r.stdout)
    assert_no_forged_line(out)
    assert "[bold]" in out  # printed as text, so markup was not parsed
    assert "\\x1b[31mAlpha" in out and "\\u202eevil" in out


def test_styled_output_still_carries_no_hostile_sequence(hostile_db):
    """With colour forced, Rich writes its own SGR codes; nothing else may be there."""
    for args in (("show", "Alpha Front"), ("facts",)):
        r = cli(*args, "--db", hostile_db, FORCE_COLOR="1")
        assert r.returncode == 0, r.stderr
        out = decoded(r.stdout)
        assert "\x1b[" in out  # styled indeed
        assert not RAW.search(re.sub(r"\x1b\[[0-9;]*m", "", out)), args
        assert "\\x1b[2J" in out and "\x1b[2J" not in out


def test_error_line_naming_a_hostile_actor(hostile_db):
    r = cli("show", f"Nobody\n{FORGED}\x1b[2J\u202e", "--db", hostile_db)
    assert r.returncode == 1
    err = assert_terminal_safe(r.stderr)
    assert len(err.strip().splitlines()) == 1 and "no actor matches" in err
    assert_no_forged_line(err)


def test_facts_csv_is_neutralised(hostile_db):
    r = cli("facts", "--db", hostile_db, "--format", "csv")
    assert r.returncode == 0, r.stderr
    out = assert_terminal_safe(r.stdout, csv_lines=True)
    assert_no_forged_line(out)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 2
    _assert_cells_safe(rows, numeric=("confidence", "start", "end"))
    attack = next(x for x in rows if x["relation"] == "attacked")
    assert attack["attributed_to"] == "'@SUM(1+1)\\x1b[5m"
    assert attack["title"] == "'" + textsafe.clean(TITLE)
    assert attack["doc_id"] == f"x\\n{FORGED}\\x1b[2J.txt"
    assert float(attack["confidence"]) == pytest.approx(0.8)


def test_export_csvs_are_neutralised_and_keep_negative_numbers(hostile_db):
    r = cli("export", "facts-csv", "--db", hostile_db)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(assert_terminal_safe(r.stdout))))
    _assert_cells_safe(rows, numeric=("confidence", "start", "end"))
    assert {x["title"] for x in rows} == {"'" + textsafe.clean(TITLE)}

    r = cli("export", "events-csv", "--db", hostile_db)
    assert r.returncode == 0, r.stderr
    out = assert_terminal_safe(r.stdout)
    assert_no_forged_line(out)
    (ev,) = list(csv.DictReader(io.StringIO(out)))
    _assert_cells_safe([ev], numeric=("latitude", "longitude", "fatalities", "confidence", "time_precision"))
    # Tindouf lies west of Greenwich: a number, written as one, not "'-8.15"
    assert ev["location"] == "Tindouf" and float(ev["longitude"]) < 0 and ev["longitude"].startswith("-")
    assert ev["fatalities"] == "2" and ev["attributed_to"] == "'@SUM(1+1)\\x1b[5m"
    assert f"\\n{FORGED}" not in ev["notes"] and FORGED in ev["notes"]  # notes are one line of words


def _assert_cells_safe(rows: list[dict], numeric: tuple[str, ...]) -> None:
    for row in rows:
        for col, value in row.items():
            assert not RAW.search(value) and "\n" not in value and "\r" not in value, (col, value)
            if col in numeric and value:
                float(value)  # a number column holds numbers, signs included
            else:
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (col, value)


def test_facts_json_is_lossless_and_inert(hostile_db):
    r = cli("facts", "--db", hostile_db, "--format", "json")
    assert r.returncode == 0, r.stderr
    text = decoded(r.stdout)
    assert not RAW.search(text.replace("\n", ""))
    rows = json.loads(text)
    assert {f["doc_id"] for f in rows} == {DOC_ID} and {f["title"] for f in rows} == {TITLE}
    assert any(f["subject"] == NAME_A and f["evidence"] == EVIDENCE for f in rows)


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_graph_exports_are_valid_xml(hostile_db, tmp_path, fmt):
    out = tmp_path / f"g.{fmt}"
    r = cli("export", fmt, "--db", hostile_db, "-o", out)
    assert r.returncode == 0, r.stderr
    ET.parse(out)  # strict XML 1.0 parser: ESC or other forbidden characters would fail here
    G = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
    labels = {d.get("label") for _, d in G.nodes(data=True)}
    assert "[31mAlpha Front[bold] \u202eevil\u202c\x9b2J" in labels  # only the ESC dropped (XML forbids it)
    assert G.number_of_edges() == 2


# --- the real pipeline on real files with hostile names ----------------------------------
@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("names")
    folder = base / "in"
    folder.mkdir()
    good = folder / f"evil\n{FORGED}\x1b[2J\x1b]0;pwned\x07\u202e.txt"
    good.write_text(
        "[bold]Brigade\x1b[2J pledge \u202eyalp\u202c\n\n"  # the title
        "The Uqba Brigade pledged allegiance to al-Qaeda in the Islamic Maghreb in June 2013.\n\n"
        f"Officials said \x1b]0;pwned\x07 [link=http://x.invalid]here[/link] \u202eevil\u202c.\n{FORGED}\n",
        encoding="utf-8",
    )
    (folder / "bad\x1b]0;pwned\x07\u202e[bold].txt").write_bytes(b"\x00\x01 not text \x00")
    missing = base / f"gone\n{FORGED}\x1b[2J"
    return folder, missing


def test_ingest_reports_hostile_file_names_on_one_line_each(hostile_files, tmp_path):
    folder, missing = hostile_files
    db = tmp_path / "s.duckdb"
    r = cli("ingest", folder, missing, "--db", db, "--workers", "1")
    assert r.returncode == 1, r.stderr  # two inputs failed
    out, err = assert_terminal_safe(r.stdout), assert_terminal_safe(r.stderr)
    assert_no_forged_line(out, allowed=("documents: 1 added, 0 unchanged, 0 replaced, 2 failed",))
    assert_no_forged_line(err)
    errors = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 2, err
    assert any("bad\\x1b]0;pwned\\x07\\u202e[bold].txt: binary file" in ln for ln in errors)
    assert any(f"gone\\n{FORGED}\\x1b[2J: no such file" in ln for ln in errors)

    # what the store now holds, printed back
    r = cli("show", "Uqba Brigade", "--db", db)
    assert r.returncode == 0, r.stderr
    shown = assert_terminal_safe(r.stdout)
    assert_no_forged_line(shown)
    assert f"evil\\n{FORGED}\\x1b[2J\\x1b]0;pwned\\x07\\u202e.txt" in shown
    assert "[bold]Brigade\\x1b[2J pledge \\u202eyalp\\u202c" in shown
    r = cli("facts", "--db", db, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(assert_terminal_safe(r.stdout, csv_lines=True))))
    assert [x["doc_id"] for x in rows] == [f"evil\\n{FORGED}\\x1b[2J\\x1b]0;pwned\\x07\\u202e.txt"]


def test_ingest_progress_names_the_document_escaped(hostile_files, tmp_path):
    """On a terminal the progress line names the document being stored (colour forced so
    Rich draws it into the pipe): escaped there too."""
    folder, _ = hostile_files
    r = cli("ingest", folder, "--db", tmp_path / "p.duckdb", "--workers", "1", FORCE_COLOR="1")
    err = decoded(r.stderr)
    assert "\\x1b[2J\\x1b]0;pwned\\x07\\u202e.txt" in err  # the progress description, escaped
    for raw in ("\x1b[2J", "\x1b]", "\u202e", f"\n{FORGED}"):
        assert raw not in err and raw not in decoded(r.stdout), repr(raw)
