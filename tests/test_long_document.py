"""A very long document is read in windows, so that memory does not grow with its
length (issue 12, item 1); its windows' results join into one extraction."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import allegiance.extract as extract
from allegiance.extract import windows
from allegiance.clean import clean_document
from allegiance.records import AttackAttacker, AttackMention, Document, Entity, Extraction, Fact, Mention

SECTION = (
    "The Red Valley Front said on Monday that its fighters had attacked an army post near Goma. "
    "Pierre Lumbala, who leads the Red Valley Front, told reporters that the group would fight on.\n\n"
    "Farmers near the lake said the harvest had been poor and the price of maize had doubled.\n\n"
)


def _doc(doc_id: str, text: str) -> Document:
    return clean_document(Document(doc_id=doc_id, source=doc_id, raw_text=text, content_hash=doc_id))


def _section(i: int) -> str:
    # each section names one commander of its own, so that every window has a fact of its own
    return SECTION.replace("Pierre Lumbala", _commander(i))


_FIRST = ["Pierre", "Amina", "Joseph", "Grace", "Emmanuel", "Esther", "Patrick", "Ruth"]
_LAST = ["Lumbala", "Okello", "Mutombo", "Kabila", "Ngoy"]


def _commander(i: int) -> str:
    return f"{_FIRST[i % 8]} {_LAST[i // 8 % 5]}"


def test_windows_cut_at_line_boundaries():
    lines = [(i * 10, "x" * 9) for i in range(10)]
    cut = windows.windows(lines, size=30)
    assert [len(w) for w in cut] == [3, 3, 3, 1]
    assert [line for w in cut for line in w] == lines
    # a line longer than a window is a window of its own, never split
    assert windows.windows([(0, "y" * 100), (101, "z")], size=30) == [[(0, "y" * 100)], [(101, "z")]]


def test_merge_joins_actors_and_facts_across_windows():
    doc = Document(doc_id="d", source="d", raw_text="", content_hash="d")
    a = Extraction(document=doc, entities=[Entity("e1", "ORG", "Red Valley Front", ["Red Valley Front"], "armed_group"),
                                           Entity("e2", "PLACE", "Goma", ["Goma"], "city", "gz:goma")],
                   mentions=[Mention("Red Valley Front", 0, 16, "ORG", "e1"), Mention("Goma", 30, 34, "PLACE", "e2")],
                   facts=[Fact("e1", "active_in", "e2", "s1", 0, 40, confidence=0.6, hedged=True)])
    a.attacks = [AttackMention("a1", "attacked", place="e2", attackers=[AttackAttacker("e1")], targets=[])]
    # the second window knows the front by an alias as well, and the place by its gazetteer id
    b = Extraction(document=doc, entities=[Entity("e1", "PLACE", "Goma city", ["Goma city"], "city", "gz:goma"),
                                           Entity("e2", "ORG", "RVF", ["RVF", "Red Valley Front"], None),
                                           Entity("e3", "PERSON", "Ana Kifu", ["Ana Kifu"], "person")],
                   mentions=[Mention("Goma city", 100, 109, "PLACE", "e1"), Mention("RVF", 120, 123, "ORG", "e2"),
                             Mention("Ana Kifu", 130, 138, "PERSON", "e3")],
                   facts=[Fact("e2", "active_in", "e1", "s2", 100, 140, confidence=0.7),
                          Fact("e3", "leader_of", "e2", "s3", 100, 140, confidence=0.9)])
    b.attacks = [AttackMention("a1", "raided", place="e1", attackers=[AttackAttacker("e2")])]
    out = windows.merge(doc, [a, b], "v")
    names = {e.id: e.name for e in out.entities}
    assert sorted(names.values()) == ["Ana Kifu", "Goma", "Red Valley Front"]
    front = next(e for e in out.entities if e.name == "Red Valley Front")
    assert front.aliases == ["Red Valley Front", "RVF"] and front.kind == "armed_group"
    facts = {(names[f.subject], f.relation, names[f.object]): f for f in out.facts}
    assert set(facts) == {("Red Valley Front", "active_in", "Goma"), ("Ana Kifu", "leader_of", "Red Valley Front")}
    # the stated telling wins over the hedged one
    assert facts[("Red Valley Front", "active_in", "Goma")].evidence == "s2"
    assert {m.entity for m in out.mentions} == set(names)
    assert [x.id for x in out.attacks] == ["a1", "a2"]
    assert {names[x.place] for x in out.attacks} == {"Goma"}
    assert {names[x.attackers[0].entity] for x in out.attacks} == {"Red Valley Front"}


def test_long_document_is_parsed_window_by_window(monkeypatch):
    """No spaCy call ever sees more than one window of a long document, and the facts of
    every window reach the one extraction."""
    monkeypatch.setattr(extract, "WINDOW_CHARS", 1000)
    monkeypatch.setattr(windows, "WINDOW_CHARS", 1000)
    monkeypatch.setattr(extract, "BATCH_CHARS", 2000)
    text = "War in the valley\n\n" + "".join(_section(i) for i in range(40))
    assert len(text) > 10 * 1000
    seen: list[int] = []
    real_parse = extract.parse

    def recording_parse(nlp, texts):
        seen.append(sum(len(t) for t in texts))
        return real_parse(nlp, texts)

    monkeypatch.setattr(extract, "parse", recording_parse)
    short = _doc("short", _section(40))
    ex_long, ex_short = extract.extract_documents([_doc("long", text), short])
    assert len(seen) >= 8 and max(seen) <= 1000 + len(SECTION)
    names = {e.id: e.name for e in ex_long.entities}
    # one actor however many windows name it
    assert list(names.values()).count("Red Valley Front") == 1
    leaders = {names[f.subject] for f in ex_long.facts if f.relation == "leader_of"}
    assert {_commander(i) for i in range(40)} - leaders == set()
    long_raw = ex_long.document.raw_text
    for m in ex_long.mentions:
        assert long_raw[m.start:m.end] == m.text
    # the short document after it is read as it would be alone
    alone = extract.extract_documents([short])[0]
    assert [(f.subject, f.relation, f.object) for f in ex_short.facts] == \
           [(f.subject, f.relation, f.object) for f in alone.facts]


def _peak_rss_mb(path, window: int) -> float:
    env = {**os.environ, "ALLEGIANCE_WINDOW_CHARS": str(window)}
    # the CLI in a child that reports its own peak resident memory (VmHWM) as it exits;
    # not ru_maxrss, which Linux carries over from the forking parent (pytest, with
    # spaCy loaded) across exec
    code = ("import sys\nfrom allegiance.cli import app\n"
            "try:\n app(['extract', '--workers', '1', sys.argv[1]])\nexcept SystemExit:\n pass\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print(hwm.split()[1], file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    json.loads(proc.stdout.splitlines()[0])
    return int(proc.stderr.strip().splitlines()[-1]) / 1024


def test_memory_does_not_grow_with_document_length(tmp_path):
    """A real ``allegiance extract`` process: a document twelve windows long peaks at
    about the memory of a one-window document."""
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_text("".join(_section(i) for i in range(60)), encoding="utf-8")
    large.write_text("".join(_section(i) for i in range(720)), encoding="utf-8")
    window = len(small.read_text()) + 10
    base = _peak_rss_mb(small, window)
    big = _peak_rss_mb(large, window)
    assert big < base + 50, (base, big)
