"""The actor page of an actor with 100,000 facts (issue 10 item 6): build a synthetic store
in the real schema where actor ``a0`` has ``--facts`` facts, then time the page the
browser gets (``GET /actors/a0``: who leads, ties grouped by relation, one page of the
timeline) and the whole card (``GET /api/actors/a0``, every fact, for comparison).

    python bench/actor_page.py [--facts 100000] [--runs 10] [--db PATH]

Data: 5,000 documents (published 2000-2024), 2,000 actors (a0 an ORG; every fifth actor a
PERSON), ``--facts`` facts with a0 as subject or object (relations drawn from
records.RELATIONS, 20% without a date of their own), among them leader_of facts from a
few persons to a0. Inserted in bulk with ``INSERT ... SELECT FROM range(n)``."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allegiance.records import RELATIONS  # noqa: E402
from allegiance.store import Store  # noqa: E402

N_DOCS = 5000
N_ACTORS = 2000


def build(path: Path, n_facts: int = 100_000) -> None:
    rels = ", ".join(f"'{r}'" for r in RELATIONS)
    with Store(path) as store:
        con = store.con
        con.execute("SELECT setseed(0.17)")
        con.execute(
            f"""INSERT INTO documents (id, doc_id, content_hash, source, title, published, media_type,
                encoding, language, ingested_at, extractor_version, text, raw_text, boilerplate, warnings)
            SELECT 'd' || i, 'doc_' || i || '.txt', md5('doc' || i), '/bench/doc_' || i || '.txt',
                   'Synthetic report ' || i,
                   strftime(DATE '2000-01-01' + CAST(floor(random() * 9131) AS INTEGER), '%Y-%m-%d'),
                   'text/plain', 'utf-8', 'en', now(), 'bench', 'text ' || i, 'text ' || i, '[]', '[]'
            FROM range({N_DOCS}) t(i)"""
        )
        con.execute(
            f"""INSERT INTO actors (id, name, type, kind, gazetteer_id, created_at, key)
            SELECT 'a' || i, 'Actor ' || i, CASE WHEN i % 5 = 1 THEN 'PERSON' ELSE 'ORG' END,
                   CASE WHEN i % 5 = 1 THEN 'person' ELSE 'armed_group' END, NULL, now(), 'key:' || i
            FROM range({N_ACTORS}) t(i)"""
        )
        con.execute("INSERT INTO aliases SELECT id, name, lower(name), 1 FROM actors")
        con.execute(
            f"""INSERT INTO facts (id, document_id, subject_id, relation, object_id, evidence, "start", "end",
                date, date_source, confidence, hedged, attributed_to, attributes, rule, extractor_version)
            SELECT 'f' || i, 'd' || CAST(floor(random() * {N_DOCS}) AS BIGINT),
                   CASE WHEN i % 2 = 0 THEN 'a0' ELSE 'a' || (1 + i % {N_ACTORS - 1}) END,
                   CASE WHEN i % 97 = 0 THEN 'leader_of'
                        ELSE ([{rels}])[1 + CAST(floor(random() * {len(RELATIONS)}) AS INTEGER)] END,
                   CASE WHEN i % 2 = 0 THEN 'a' || (1 + i % {N_ACTORS - 1}) ELSE 'a0' END,
                   'Synthetic evidence sentence ' || i || '.', 0, 40,
                   CASE WHEN random() < 0.2 THEN NULL
                        ELSE strftime(DATE '2000-01-01' + CAST(floor(random() * 9131) AS INTEGER), '%Y-%m-%d') END,
                   'text', 0.5 + random() / 2, random() > 0.9, NULL, '{{}}', 'bench', 'bench'
            FROM range({n_facts}) t(i)"""
        )
        # leader_of goes person -> group: make a few persons the leaders of a0
        con.execute("UPDATE facts SET subject_id = 'a' || (1 + 5 * (CAST(substr(id, 2) AS BIGINT) % 7)), "
                    "object_id = 'a0' WHERE relation = 'leader_of'")
        con.execute(
            """INSERT INTO document_actors
            SELECT document_id, 'e' || row_number() OVER (PARTITION BY document_id ORDER BY actor_id),
                   actor_id, 'Actor', 'ORG', CAST(n AS INTEGER)
            FROM (SELECT document_id, actor_id, count(*) AS n FROM (
                    SELECT document_id, subject_id AS actor_id FROM facts
                    UNION ALL SELECT document_id, object_id FROM facts) GROUP BY ALL)"""
        )
        con.execute("CHECKPOINT")


def time_get(client, url: str, runs: int) -> tuple[float, float, float]:
    """p50 and p95 wall-clock ms, and the p50 of CPU ms (all of this process's threads:
    on a shared, loaded machine wall time says more about the neighbours)."""
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    times.sort()
    return statistics.median(times), times[max(0, int(round(0.95 * len(times))) - 1)], statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--facts", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--db", type=Path, default=None)
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from allegiance.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "actor.duckdb"
        if not db.exists():
            t0 = time.perf_counter()
            build(db, args.facts)
            print(f"built {db} ({args.facts} facts of a0) in {time.perf_counter() - t0:.1f} s")
        app = create_app(db, read_only=True)
        client = TestClient(app, base_url="http://127.0.0.1")
        client.get("/actors/a0")  # warm: DuckDB reads the column segments once
        for url, runs in (("/actors/a0", args.runs), ("/actors/a0?rel=member_of&tpage=3", args.runs),
                          ("/actors/a0?page=500", args.runs), ("/api/actors/a0", max(1, args.runs // 5))):
            p50, p95, cpu = time_get(client, url, runs)
            print(f"GET {url:36s} p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  cpu p50 {cpu:6.0f} ms  ({runs} runs)")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        app.state.ws.store.close()


if __name__ == "__main__":
    main()
