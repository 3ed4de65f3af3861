"""The MUC-4 attack measure (allegiance/eval/muc4.py, `allegiance eval --muc4`): messages
read from a raw MUC-4 file, templates read as an analyst reads `attacked` facts. The
messages here are written for these tests in the style of the wire copy; the shared
development split is only read (ids and counts), never copied."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allegiance.cli import app
from allegiance.eval.muc4 import load_templates, normalise, read_messages, score

SHARED_MUC = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "muc4"

RAW = """TST1-MUC3-0001

   CARTAGO, 3 MAR 90 (EFE) -- [TEXT] THE NORTHERN HILLS LIBERATION FRONT
(FLCN) CLAIMED RESPONSIBILITY TODAY FOR AN ATTACK ON A POLICE POST IN THE
TOWN OF SANTA RITA, IN WHICH FOUR POLICEMEN WERE KILLED.

   THE FLCN SAID IN A COMMUNIQUE THAT ITS COMMANDOS HAD ATTACKED THE POST
TO PROTEST THE ARREST OF ITS LEADERS.


TST1-MUC3-0002

   CARTAGO, 4 MAR 90 (EFE) -- [TEXT] THE COFFEE HARVEST IN THE CENTRAL
VALLEY WILL BE THE LARGEST IN TEN YEARS, THE AGRICULTURE MINISTRY SAID
TODAY. GROWERS EXPECT PRICES TO RISE IN THE SPRING.
"""

TEMPLATES = [
    {"docid": "TST1-MUC3-0001", "doctext": "", "templates": [{
        "incident_type": "attack",
        "PerpInd": [[["commandos", 250]]],
        "PerpOrg": [[["northern hills liberation front", 40], ["flcn", 72]]],
        "Target": [[["police post", 120]]],
        "Victim": [],
        "Weapon": []}]},
    {"docid": "TST1-MUC3-0002", "doctext": "", "templates": []},
]


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "raw_muc4").mkdir()
    (tmp_path / "gtt_templates").mkdir()
    (tmp_path / "raw_muc4" / "tst1-muc3").write_text(RAW, encoding="latin-1")
    (tmp_path / "gtt_templates" / "dev.json").write_text(
        "".join(json.dumps(t) + "\n" for t in TEMPLATES), encoding="utf-8")
    return tmp_path


def test_messages_are_split_at_their_headers(tmp_path):
    msgs = read_messages(_folder(tmp_path) / "raw_muc4" / "tst1-muc3")
    assert [m for m, _ in msgs] == ["TST1-MUC3-0001", "TST1-MUC3-0002"]
    assert msgs[0][1].lstrip().startswith("CARTAGO, 3 MAR 90")
    assert "COFFEE" not in msgs[0][1] and "COFFEE" in msgs[1][1]


def test_normalise_as_muc_scorers_do():
    assert normalise('The "Santo Tomas" Farm,') == "santo tomas farm"
    assert normalise("an FMLN  unit") == "fmln unit"


def _schema(entities, facts):
    return {"entities": [{"id": i, "name": n, "aliases": a} for i, n, a in entities],
            "facts": [{"subject": s, "relation": r, "object": o} for s, r, o in facts]}


def test_score_matches_names_and_aliases_one_to_one():
    templates = {t["docid"]: t["templates"] for t in TEMPLATES}
    extractions = {
        # the group under its acronym, twice (one match), a wrong target, and a leader
        # fact that says nothing about attacks
        "TST1-MUC3-0001": _schema(
            [("e1", "Hills Front", ["FLCN"]), ("e2", "FLCN commandos", ["FLCN"]), ("e3", "Santa Rita", []),
             ("e4", "Juan Perez", [])],
            [("e1", "attacked", "e3"), ("e2", "attacked", "e3"), ("e4", "leader_of", "e1")]),
        # an attack stated in a message with no template: a false detection
        "TST1-MUC3-0002": _schema([("e1", "Agriculture Ministry", []), ("e2", "Central Valley", [])],
                                  [("e1", "attacked", "e2")]),
    }
    r = score(templates, extractions)
    assert (r.messages, r.with_attack) == (2, 1)
    assert (r.detection.matched, r.detection.pred, r.detection.gold) == (1, 2, 1)
    org = r.roles["PerpOrg"]
    assert (org.matched, org.pred, org.gold) == (1, 3, 1)   # e1 and e2 compete for one gold group
    both = r.roles["PerpOrg+PerpInd"]
    assert (both.matched, both.gold) == (1, 2)
    target = r.roles["Victim+Target"]
    assert (target.matched, target.pred, target.gold) == (0, 2, 1)
    assert r.detection.precision == 0.5 and r.detection.recall == 1.0
    # a message extraction failed on states nothing
    empty = score(templates, {})
    assert empty.detection.pred == 0 and empty.roles["PerpOrg"].gold == 1


def test_eval_muc4_command_extracts_the_messages(tmp_path):
    folder = _folder(tmp_path)
    r = CliRunner().invoke(app, ["eval", "--muc4", str(folder), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["messages"] == 2 and rep["with_attack"] == 1
    # the claim names the group: the attack is found and its attacker is the FLCN
    assert rep["detection"]["tp"] == 1 and rep["detection"]["gold"] == 1
    assert rep["roles"]["PerpOrg"]["tp"] == 1
    text = CliRunner().invoke(app, ["eval", "--muc4", str(folder)])
    assert text.exit_code == 0
    assert "MUC-4 dev: 2 messages, 1 with an attack template" in text.stdout
    assert "PerpOrg (subject)" in text.stdout


def test_eval_muc4_without_templates_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(app, ["eval", "--muc4", str(tmp_path)])
    assert r.exit_code != 0
    assert "no template file for the dev split" in r.output
    r = CliRunner().invoke(app, ["eval", "--muc4", str(tmp_path), "--split", "train"])
    assert r.exit_code != 0 and "dev or test" in r.output


@pytest.mark.skipif(not (SHARED_MUC / "gtt_templates" / "dev.json").is_file(),
                    reason="../shared/benchmarks/muc4 (MUC-4 development split) not present")
def test_shared_dev_split_every_templated_message_has_its_text():
    templates = load_templates(SHARED_MUC / "gtt_templates" / "dev.json")
    texts = dict(read_messages(SHARED_MUC / "raw_muc4" / "tst1-muc3"))
    texts.update(read_messages(SHARED_MUC / "raw_muc4" / "tst2-muc4"))
    assert len(templates) == 200
    assert set(templates) <= set(texts)
    assert sum(1 for t in templates.values() if t) == 116
