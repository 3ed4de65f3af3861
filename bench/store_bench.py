"""Store at scale: build a synthetic store of >= 1,000,000 facts in the real schema and
time the real query functions, and the network endpoint (``/api/graph``, grouped ties) over
one-year windows (target: p95 under 500 ms).

    python bench/store_bench.py [--facts 1000000] [--db bench/.cache/store-1000000.duckdb] [--runs 50]

Data: documents (one per 10 facts, published 2000-2024), actors (ORG/PERSON/PLACE) whose
degrees follow a power law (endpoints drawn log-uniformly: actor k is picked with
probability ~ 1/k), facts dated 2000-01-01..2024-12-31 (10% year-only), aliases,
document_actors and mentions. Everything is inserted in bulk with
``INSERT INTO ... SELECT ... FROM range(n)`` inside DuckDB (no row-by-row inserts); the
tables are created by ``allegiance.store.Store`` (schema + indexes from
``allegiance.store.schema``). The store is cached by size.

Timed (``--runs`` each, p50/p95 in ms): Store.actor_card on random actors, Store.facts
(relation + since/until window), neighbours within 2 hops, network as of a date
(``allegiance.scale.queries``); ``GET /api/graph`` over one-year windows through the web app
(``--runs`` runs each: the default cap of ties and ``limit=200``) and ``as_of`` a year
(``--runs`` runs, after a first request that builds the as-of index, timed on its own line)."""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allegiance.records import RELATIONS  # noqa: E402
from allegiance.scale.queries import neighbours, network_as_of  # noqa: E402
from allegiance.store import Store  # noqa: E402


def build(path: Path, n_facts: int) -> None:
    n_docs = max(n_facts // 10, 1)
    n_actors = max(n_facts // 20, 10)
    rels = ", ".join(f"'{r}'" for r in RELATIONS)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with Store(tmp) as store:
        con = store.con
        con.execute("SELECT setseed(0.42)")
        con.execute(
            f"""INSERT INTO documents (id, doc_id, content_hash, source, title, published, media_type,
                encoding, language, ingested_at, extractor_version, text, raw_text, boilerplate, warnings)
            SELECT substr(md5('doc' || i), 1, 16), 'doc_' || i || '.txt', md5('doc' || i) || md5('x' || i),
                   '/bench/doc_' || i || '.txt', 'Synthetic report ' || i,
                   strftime(DATE '2000-01-01' + CAST(floor(random() * 9131) AS INTEGER), '%Y-%m-%d'),
                   'text/plain', 'utf-8', 'en', now(), 'bench', 'text ' || i, 'text ' || i, '[]', '[]'
            FROM range({n_docs}) t(i)"""
        )
        con.execute(
            f"""INSERT INTO actors (id, name, type, kind, gazetteer_id, created_at, key)
            SELECT 'a' || i, 'Actor ' || i,
                   CASE WHEN i % 10 < 5 THEN 'ORG' WHEN i % 10 < 8 THEN 'PERSON' ELSE 'PLACE' END,
                   CASE WHEN i % 10 < 5 THEN 'armed_group' WHEN i % 10 < 8 THEN 'person' ELSE 'city' END,
                   CASE WHEN i < 500 THEN 'gz_' || i END, now(), 'key:' || i
            FROM range({n_actors}) t(i)"""
        )
        con.execute(
            "INSERT INTO aliases SELECT id, name, lower(name), 1 FROM actors"
        )
        # power-law endpoints: floor(exp(u * ln(N))) - 1 picks actor k with probability ~ 1/(k+1)
        pick = f"CAST(floor(exp(random() * ln({n_actors}))) - 1 AS BIGINT)"
        con.execute(
            f"""CREATE TEMP TABLE f0 AS
            SELECT i, {pick} AS s, {pick} AS o,
                   ([{rels}])[1 + CAST(floor(random() * {len(RELATIONS)}) AS INTEGER)] AS relation,
                   CAST(floor(random() * {n_docs}) AS BIGINT) AS d,
                   DATE '2000-01-01' + CAST(floor(random() * 9131) AS INTEGER) AS day,
                   random() AS r
            FROM range({n_facts}) t(i)"""
        )
        con.execute(
            """INSERT INTO facts (id, document_id, subject_id, relation, object_id, evidence, "start", "end",
                date, date_source, confidence, hedged, attributed_to, attributes, rule, extractor_version)
            SELECT substr(md5('fact' || i), 1, 20), substr(md5('doc' || d), 1, 16), 'a' || s, relation,
                   'a' || CASE WHEN o = s THEN o + 1 ELSE o END,
                   'Actor ' || s || ' ' || relation || ' Actor ' || o || ' (synthetic evidence ' || i || ').',
                   CAST(i % 5000 AS INTEGER), CAST(i % 5000 + 60 AS INTEGER),
                   CASE WHEN r < 0.1 THEN strftime(day, '%Y') ELSE strftime(day, '%Y-%m-%d') END,
                   'text', 0.8, r > 0.95, NULL, '{}', 'bench', 'bench'
            FROM f0"""
        )
        con.execute(
            """INSERT INTO document_actors
            SELECT document_id, 'e' || row_number() OVER (PARTITION BY document_id ORDER BY actor_id),
                   actor_id, 'Actor', 'ORG', CAST(n AS INTEGER)
            FROM (SELECT document_id, actor_id, count(*) AS n FROM (
                    SELECT document_id, subject_id AS actor_id FROM facts
                    UNION ALL SELECT document_id, object_id FROM facts) GROUP BY ALL)"""
        )
        con.execute(
            """INSERT INTO document_aliases SELECT document_id, actor_id, name, lower(name), mention_count
            FROM document_actors"""
        )
        con.execute(
            """INSERT INTO mentions SELECT document_id, actor_id, 'Actor', 0, 5 FROM document_actors"""
        )
        con.execute("DROP TABLE f0")
        con.execute("CHECKPOINT")
        counts = store.counts()
    tmp.rename(path)
    print(f"built {path} in {time.perf_counter() - t0:.1f} s: {counts}", flush=True)


def timed(fn, runs: int) -> tuple[float, float, int]:
    times, size = [], 0
    for i in range(runs):
        t = time.perf_counter()
        out = fn(i)
        times.append((time.perf_counter() - t) * 1000)
        size = len(out) if hasattr(out, "__len__") else 0
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--facts", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    db = args.db or ROOT / "bench" / ".cache" / f"store-{args.facts}.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    if not db.exists():
        build(db, args.facts)
    rng = random.Random(7)
    with Store(db, read_only=True) as store:
        con = store.con
        counts = store.counts()
        print(f"store {db}: {counts}")
        n_actors = counts["actors"]
        # random actors that have facts (uniform over actor ids: mostly small-degree, some hubs)
        sample = [f"a{rng.randrange(n_actors)}" for _ in range(args.runs)]
        degs = [con.execute("SELECT count(*) FROM facts WHERE subject_id = ? OR object_id = ?", [a, a]).fetchone()[0]
                for a in sample]
        print(f"sampled actors: median degree {statistics.median(degs):.0f}, max {max(degs)}")
        hub_deg = con.execute("SELECT count(*) FROM facts WHERE subject_id = 'a0' OR object_id = 'a0'").fetchone()[0]
        years = [str(rng.randint(2000, 2024)) for _ in range(args.runs)]
        days = [f"{rng.randint(2000, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for _ in range(args.runs)]
        rels = [rng.choice(RELATIONS) for _ in range(args.runs)]
        cases = [
            ("actor_card (random actor)", lambda i: store.actor_card(sample[i])["relations"]),
            ("facts(relation, since=Y-06, until=Y-08)",
             lambda i: store.facts(relation=rels[i], since=f"{years[i]}-06", until=f"{years[i]}-08")),
            ("facts(relation, since=Y, until=Y, limit=100)",
             lambda i: store.facts(relation=rels[i], since=years[i], until=years[i], limit=100)),
            ("neighbours(random actor, hops=2, limit=200)", lambda i: neighbours(con, sample[i], hops=2, limit=200)),
            ("network_as_of(date, limit=1000)", lambda i: network_as_of(con, days[i], limit=1000)["edges"]),
            ("network_as_of(date, relation, limit=1000)",
             lambda i: network_as_of(con, days[i], relation=rels[i], limit=1000)["edges"]),
        ]
        # the network page's read: GET /api/graph over a one-year window, one edge per tie
        # (allegiance/analysis/ties.py), the heaviest ties first up to the endpoint's default
        # limit; through the app over HTTP (FastAPI TestClient: routing, JSON encoding)
        from fastapi.testclient import TestClient

        from allegiance.web.app import GRAPH_LIMIT, create_app

        client = TestClient(create_app(store=store), base_url="http://127.0.0.1")
        graph_runs = args.runs
        last: dict = {}

        def api_graph(i: int, **params) -> list:
            q = {k: v for k, v in {"since": years[i], "until": years[i], **params}.items() if v is not None}
            r = client.get("/api/graph", params=q)
            assert r.status_code == 200, r.status_code
            got = r.json()
            last.update(bytes=len(r.content), counts=got["counts"])
            return got["edges"]

        graph_cases = [
            (f"GET /api/graph?since=Y&until=Y (limit {GRAPH_LIMIT})", lambda i: api_graph(i), graph_runs),
            ("GET /api/graph?since=Y&until=Y&limit=200", lambda i: api_graph(i, limit=200), graph_runs),
            # as of a date: every fact up to it (the time slider), from the as-of index the
            # app builds on the first such request after the store changed (analysis/asof.py)
            (f"GET /api/graph?as_of=Y (limit {GRAPH_LIMIT})",
             lambda i: api_graph(i, as_of=years[i], since=None, until=None), graph_runs),
        ]
        hub_runs = max(5, args.runs // 10)
        hub_cases = [
            (f"actor_card(hub a0, {hub_deg} facts)", lambda i: store.actor_card("a0")["relations"]),
            ("neighbours(hub a0, hops=2, limit=200)", lambda i: neighbours(con, "a0", hops=2, limit=200)),
        ]
        print(f"{'query':48} {'p50 ms':>9} {'p95 ms':>9} {'rows':>7}")
        for name, fn in cases:
            fn(0)  # warm
            p50, p95, size = timed(fn, args.runs)
            print(f"{name:48} {p50:9.1f} {p95:9.1f} {size:7d}  ({args.runs} runs)", flush=True)
        for name, fn, runs in graph_cases:
            t = time.perf_counter()
            fn(0)  # warm
            if "as_of" in name:  # the first one builds the index: its own line
                print(f"{'  first as_of request (builds the index)':48} {(time.perf_counter() - t) * 1000:9.1f}",
                      flush=True)
            p50, p95, size = timed(fn, runs)
            verdict = "under" if p95 < 500 else "NOT under"
            c = last["counts"]
            print(f"{name:48} {p50:9.1f} {p95:9.1f} {size:7d}  ({runs} runs; p95 {verdict} 500 ms; last: "
                  f"{c['ties']} of {c['ties_total']} ties, {last['bytes'] / 1e6:.2f} MB of JSON)", flush=True)
        for name, fn in hub_cases:
            p50, p95, size = timed(fn, hub_runs)
            print(f"{name:48} {p50:9.1f} {p95:9.1f} {size:7d}  ({hub_runs} runs)", flush=True)
    # other work on the machine shifts every timing: say how busy it was
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
