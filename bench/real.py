"""Speed on real text: `allegiance extract` against bare spaCy `nlp.pipe` on the same texts.

    python bench/real.py [--n 200] [--repeat 1] [--feed-mix] [--corpus DIR] [--seed 0] [--src DIR]

1. builds a corpus of N plain-text articles from the shared real corpora
   (/work/shared/corpus/{seeds,dev,train}, 121 articles), repeated to N; every copy after
   the first is varied (place names and common given names swapped for others from a
   list, years shifted by a multiple of 4) so that no two files are byte-identical.
   ``--feed-mix``: 80% general news naming no armed group (weather, sport, markets,
   transport, science, culture: generated from templates in this file), 20% real
   articles, shuffled together. Written to a temp folder, or to ``--corpus DIR``
   (created; must be empty) to keep it;
2. reads and cleans it with ``allegiance.pipeline.read_documents`` -- the texts the
   extractor itself sees (``Document.text`` after cleaning);
3. runs ``allegiance extract DIR > out.jsonl`` as a subprocess: wall time, CPU time
   (user + system of the whole process tree, from ``os.wait4``: every reaped
   descendant counts), peak RSS (sum over the process tree, polled every 20 ms by
   psutil) and checks one JSON line per document came out. If ``extract --help``
   lists ``--workers``, it runs with ``--workers 1`` (for the ratio) and again with
   ``--workers 2`` (reported on its own line);
4. runs bare ``nlp.pipe`` over the same cleaned texts in a fresh subprocess: the full
   pipeline of ``spacy.load(allegiance.extract.nlp.model_name())``, every component,
   default batch size; measured the same way. Its token count (``len(doc)``) is the
   token count used for both lines;
5. prints articles, tokens, wall s, CPU s, articles/s, tokens/s, peak RSS of both, and
   ratio = nlp.pipe / extract, for wall and for CPU time (> 1: extract is faster).

Both processes are measured whole: Python start-up and model loading count in both.
The nlp child also reports its load and pipe-only seconds. With ``--repeat R`` each
figure is the median of R runs. ``--src DIR`` runs every process on the allegiance package
under DIR (a snapshot of a commit) instead of the installed working tree. Not part of
the test suite."""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# the bare-spaCy child process is bench/run.py's: one definition for both benches
from run import NLP_CHILD  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
SOURCES = ("seeds", "dev", "train")

# -- varying copies ----------------------------------------------------------------------

COUNTRIES = [
    "Syria", "Iraq", "Libya", "Mali", "Niger", "Nigeria", "Somalia", "Yemen", "Afghanistan",
    "Pakistan", "Algeria", "Tunisia", "Egypt", "Myanmar", "Chad", "Cameroon", "Kenya",
    "Mozambique", "Sudan", "Lebanon", "Jordan", "Mauritania", "Morocco",
]
CITIES_REAL = [
    "Mosul", "Raqqa", "Kabul", "Mogadishu", "Bamako", "Aleppo", "Idlib", "Benghazi", "Tripoli",
    "Sirte", "Gao", "Timbuktu", "Maiduguri", "Kandahar", "Peshawar", "Kismayo", "Derna",
]
PLACES = COUNTRIES + CITIES_REAL
GIVEN_NAMES = [
    "Mohammed", "Ahmed", "Omar", "Ibrahim", "Hassan", "Abdullah", "Khalid", "Mustafa", "Ismail",
    "Salim", "Hamid", "Tariq", "Karim", "Yasin", "Bilal", "Idris", "Musa", "Ali", "Yusuf", "Hamza",
]
_PLACE_RX = re.compile(r"(?<![\w'’-])(" + "|".join(sorted(PLACES, key=len, reverse=True)) + r")(?![\w'’-])")
_NAME_RX = re.compile(r"(?<![\w'’-])(" + "|".join(sorted(GIVEN_NAMES, key=len, reverse=True)) + r")(?![\w'’-])")
_YEAR_RX = re.compile(r"(?<![\d,.-])(19[5-9]\d|20[0-3]\d)(?![\d])")
# a place inside a longer proper name ("Islamic State of Iraq", "Northern Mali Front") is
# left alone: changing it would change which group the sentence names
_NAME_BEFORE = re.compile(r"[A-Z][\w'’-]*\s+(?:(?:of|in|for)\s+(?:the\s+)?)?$")
_CAP_AFTER = re.compile(r"\s+[A-Z]")


def vary(text: str, k: int) -> str:
    """Copy ``k`` (k >= 1) of an article: swaps countries for countries, cities for
    cities and given names for given names (one mapping per copy), shifts years."""
    rng = random.Random(k)
    places = {m.group(1) for m in _PLACE_RX.finditer(text)}
    names = {m.group(1) for m in _NAME_RX.finditer(text)}

    def mapping(found: set[str], pool: list[str]) -> dict[str, str]:
        found_l = sorted(found)
        targets = [p for p in pool if p not in found] or pool
        rng.shuffle(targets)
        return {f: targets[i % len(targets)] for i, f in enumerate(found_l)}

    pmap = {**mapping(places & set(COUNTRIES), COUNTRIES), **mapping(places & set(CITIES_REAL), CITIES_REAL)}
    nmap = mapping(names, GIVEN_NAMES)

    def sub_place(m: re.Match) -> str:
        before = text[max(0, m.start() - 40):m.start()]
        if _NAME_BEFORE.search(before) or _CAP_AFTER.match(text, m.end()):
            return m.group(0)
        return pmap.get(m.group(1), m.group(0))

    text = _PLACE_RX.sub(sub_place, text)
    text = _NAME_RX.sub(lambda m: nmap.get(m.group(1), m.group(0)), text)
    shift = -4 * (1 + (k - 1) % 4)   # multiples of 4 keep 29 February valid
    return _YEAR_RX.sub(lambda m: str(int(m.group(1)) + shift), text)


def real_articles() -> list[tuple[str, str]]:
    out = []
    for sub in SOURCES:
        for p in sorted((SHARED / sub).glob("*.txt")):
            out.append((p.stem, p.read_text(encoding="utf-8")))
    if not out:
        raise SystemExit(f"no articles under {SHARED}/{{{','.join(SOURCES)}}}")
    return out


def cycled(real: list[tuple[str, str]], n: int, order: list[int] | None = None) -> list[tuple[str, str]]:
    """``n`` articles: the real ones in order, then varied copies."""
    order = order if order is not None else list(range(len(real)))
    out = []
    for i in range(n):
        stem, text = real[order[i % len(order)]]
        k = i // len(order)
        out.append((f"{stem}-c{k}" if k else stem, vary(text, k) if k else text))
    return out


# -- general news (no armed group) -------------------------------------------------------

CITIES = ["Leeds", "Lyon", "Osaka", "Denver", "Porto", "Gdansk", "Adelaide", "Calgary", "Bergen",
          "Valencia", "Hamburg", "Edinburgh", "Seattle", "Turin", "Cork", "Brisbane", "Utrecht",
          "Nashville", "Graz", "Malmo"]
PEOPLE = ["Sarah Whitfield", "Daniel Okafor", "Marta Kowalski", "James Lindqvist", "Priya Raman",
          "Tom Hargreaves", "Elena Duarte", "Kenji Watanabe", "Laura Bennett", "Lucas Moreau",
          "Hannah Schulz", "Michael Brennan", "Sofia Rossi", "David Achterberg", "Grace Mbeki",
          "Peter Callaghan", "Anna Novak", "Robert Finch", "Isabel Cortez", "Oliver Grant"]
TEAMS = ["Riverside United", "Northgate Rovers", "Harbour City", "Westfield Athletic", "Eastbrook Town",
         "Lakeside Wanderers", "Kingsport FC", "Millbridge Albion", "Stonehaven Rangers", "Brookvale"]
COMPANIES = ["Halden Foods", "Corvex Systems", "Brightwater Energy", "Marlow Retail", "Tessaro Motors",
             "Pinecrest Pharma", "Aldgate Bank", "Norvik Shipping", "Solace Software", "Redfern Mining"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

TOPICS: dict[str, dict[str, list[str]]] = {
    "weather": {
        "title": ["Storm brings heavy rain and strong winds to {city}",
                  "Heatwave expected to continue in {city} this week",
                  "Forecasters warn of frost as temperatures fall around {city}"],
        "para": [
            "Forecasters said {n1} millimetres of rain fell in parts of {city} on {day}, and a further "
            "{n2} millimetres could follow before the weekend. Several roads were closed after rivers "
            "rose above their banks, and commuters were advised to allow extra time for journeys.",
            "Temperatures reached {t1} degrees Celsius on {day} afternoon, the highest reading for {month} "
            "since records began at the {city} station {n3} years ago. Officials urged residents to drink "
            "water, check on elderly neighbours and avoid strenuous exercise in the middle of the day.",
            "\"We expect the unsettled spell to last until at least {day2},\" said {person}, a meteorologist "
            "at the regional weather service. \"After that a ridge of high pressure should bring calmer, "
            "drier conditions, although mornings will be cold.\"",
            "Gusts of up to {n2} kilometres per hour brought down trees in {city2} and left about {n4} homes "
            "without electricity overnight. The power company said crews had restored supply to most "
            "customers by {day} evening and expected to finish repairs within two days.",
            "Farmers in the hills around {city} said the dry weather had already reduced the hay harvest, "
            "and several reservoirs were at {pct} percent of their usual level for {month}. The water "
            "utility asked customers to avoid using hosepipes until further notice.",
            "Schools in {city2} opened late on {day} while gritters treated roads and pavements. Bus "
            "services ran a reduced timetable and the airport reported delays of up to {n1} minutes as "
            "runways were cleared of ice.",
        ],
    },
    "sport": {
        "title": ["{team} beat {team2} to go top of the league",
                  "Late goal earns {team} a draw against {team2}",
                  "{person} signs new three-year contract with {team}"],
        "para": [
            "{team} beat {team2} {g1}-{g2} on {day} night in front of a crowd of {n4} at their home ground "
            "in {city}. {person} opened the scoring after {n1} minutes with a low shot from the edge of the "
            "area, and the visitors never recovered.",
            "The result lifts {team} to {n5} points from {n6} matches, {g2} clear of {team2} at the top of "
            "the table. Their manager, {person2}, said the squad had worked hard on set pieces during the "
            "international break and was starting to see the benefit.",
            "\"It was a difficult first half, the pitch was heavy and we gave the ball away too often,\" "
            "{person2} told reporters after the match. \"But the players kept going and the substitutes "
            "changed the game. I am very proud of them.\"",
            "{team2} had the better of the early exchanges and hit the post twice before the interval. Their "
            "goalkeeper made a string of saves in the second half, but a defensive mistake with {n7} minutes "
            "left allowed {team} to seal the win.",
            "The club confirmed on {day} that {person} has signed a new contract running until {year2}. The "
            "midfielder, who joined from {city2} four years ago, has made {n3} appearances and scored "
            "{n6} goals in all competitions.",
            "Ticket sales for the cup tie in {month} have already passed {n4}, the club said, and extra "
            "trains will run from {city2} on the day. Supporters were reminded that the stadium's north "
            "stand remains closed while its roof is repaired.",
        ],
    },
    "markets": {
        "title": ["Shares in {company} rise after strong quarterly results",
                  "Stock markets close lower as investors weigh interest rates",
                  "{company} to cut costs as sales slow"],
        "para": [
            "Shares in {company} rose {pct2} percent on {day} after the company reported quarterly revenue "
            "of {n4} million dollars, ahead of analysts' expectations. Operating profit increased by "
            "{pct} percent compared with the same period last year.",
            "The main index in {city} closed {pct2} percent lower, with banks and property companies among "
            "the biggest fallers. Traders said investors were cautious before the central bank's rate "
            "decision next {day2} and the publication of inflation figures for {month}.",
            "\"Demand held up better than we feared in the first half, but we are planning for a slower "
            "second half,\" said {person}, chief executive of {company}. \"We will keep investing in our "
            "stores and our online business, and we are confident in the long-term outlook.\"",
            "Government bond yields edged up, and the currency weakened slightly against the dollar. Oil "
            "prices were little changed at about {n3} dollars a barrel, while gold gained for a third "
            "consecutive session.",
            "{company} said it would close {n6} offices and reduce its workforce by about {n7} hundred "
            "people over the next year, mainly through voluntary redundancy. The changes are expected to "
            "save {n1} million dollars a year from {year2}.",
            "Analysts at a bank in {city2} raised their price target for {company2}, citing rising orders "
            "and lower raw material costs. \"Margins are recovering faster than the market assumes,\" "
            "said {person2}, an analyst who follows the sector.",
        ],
    },
    "transport": {
        "title": ["New tram line opens in {city}", "Rail strike disrupts services across {city}",
                  "Airport in {city} reports record passenger numbers"],
        "para": [
            "The first passengers travelled on the new tram line in {city} on {day}, three months later "
            "than planned. The {n1}-kilometre route links the railway station with the university and the "
            "hospital, with a tram every {g1} minutes at peak times.",
            "Commuters faced long queues on {day} as a strike by train drivers cancelled about {pct} percent "
            "of services. The union said the dispute over pay and working hours could continue into {month} "
            "if no agreement is reached.",
            "\"We apologise to everyone whose journey has been affected,\" said {person}, the operator's "
            "director of services. \"We are running as many trains as we can and replacement buses will "
            "serve the busiest stations.\"",
            "The airport handled {n4} thousand passengers last month, up {pct2} percent on a year earlier, "
            "helped by new routes to {city2} and other holiday destinations. Managers expect the new "
            "terminal building to open in {year2}.",
            "Cyclists' groups welcomed the city's plan to add {n6} kilometres of protected bike lanes by the "
            "end of {year2}, but some shop owners on the main street said they feared losing parking spaces "
            "for customers.",
        ],
    },
    "science": {
        "title": ["Researchers in {city} discover new species of beetle",
                  "University team develops cheaper battery material",
                  "Museum in {city} unveils restored dinosaur skeleton"],
        "para": [
            "Scientists at the university in {city} said they had identified a beetle species previously "
            "unknown to science in a forest reserve about {n1} kilometres from the city. The insect, about "
            "{g1} millimetres long, was found living under the bark of fallen oak trees.",
            "\"It shows how much we still have to learn about the animals that live right on our doorstep,\" "
            "said {person}, who led the survey. The team published its findings in a journal on {day} and "
            "plans to return to the reserve in {month}.",
            "The researchers said the new material could cut the cost of storage batteries by about {pct} "
            "percent, because it uses iron and sodium instead of scarcer metals. A pilot production line "
            "in {city2} is expected to start work in {year2}.",
            "The skeleton, which is about {n6} metres long, spent {g1} years in storage before volunteers "
            "began cleaning and repairing its {n3} bones. The museum expects more than {n4} visitors to see "
            "it in the first month.",
            "{person2}, a palaeontologist who was not involved in the project, said the restoration was "
            "careful and would let students study the animal's posture. The museum will open late on "
            "{day} evenings during the school holidays.",
        ],
    },
    "culture": {
        "title": ["Film festival in {city} announces this year's programme",
                  "{person} wins national poetry prize", "Concert hall in {city} reopens after renovation"],
        "para": [
            "The festival will show {n3} films from {n6} countries over ten days in {month}, organisers said "
            "on {day}. The opening night features a comedy shot in {city2}, and tickets go on sale next week.",
            "{person} won the national poetry prize on {day} for a collection about growing up on a farm "
            "near {city}. The judges praised the book's plain language and its humour.",
            "\"I never expected this; I wrote most of these poems on the bus to work,\" {person} said at the "
            "ceremony. The prize includes an award of {n4} euros and a month at a writers' residence.",
            "The concert hall reopened after a two-year renovation that cost {n1} million euros. New seats, "
            "better acoustics and a larger foyer were among the changes, and the first concert sold out "
            "within {g1} hours.",
            "The local orchestra will perform a series of free concerts in parks around {city2} during "
            "{month}, conducted by {person2}. The programme includes works by Mozart, Dvorak and Sibelius.",
        ],
    },
}


def general_article(rng: random.Random) -> tuple[str, str]:
    topic = rng.choice(sorted(TOPICS))
    spec = TOPICS[topic]
    year = rng.randint(2012, 2025)
    city, city2 = rng.sample(CITIES, 2)
    person, person2 = rng.sample(PEOPLE, 2)
    team, team2 = rng.sample(TEAMS, 2)
    company, company2 = rng.sample(COMPANIES, 2)
    day, day2 = rng.sample(DAYS, 2)

    def fill(s: str) -> str:
        return s.format(
            city=city, city2=city2, person=person, person2=person2, team=team, team2=team2,
            company=company, company2=company2, day=day, day2=day2, month=rng.choice(MONTHS),
            year2=year + rng.randint(1, 3), n1=rng.randint(5, 60), n2=rng.randint(20, 120),
            n3=rng.randint(30, 150), n4=rng.randint(1000, 60000), n5=rng.randint(20, 70),
            n6=rng.randint(3, 30), n7=rng.randint(2, 15), t1=rng.randint(31, 39), pct=rng.randint(5, 45),
            pct2=f"{rng.uniform(0.2, 6.5):.1f}", g1=rng.randint(1, 6), g2=rng.randint(0, 3),
        )

    paras = spec["para"][:]
    rng.shuffle(paras)
    k = rng.randint(4, len(paras))
    body = [fill(p) for p in paras[:k]]
    # longer pieces repeat the pattern with fresh numbers, like a running report
    while sum(len(p.split()) for p in body) < rng.randint(250, 450):
        body.append(fill(rng.choice(spec["para"])))
    title = fill(rng.choice(spec["title"]))
    date = f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, {year}"
    return topic, f"{title}\n\n{date}\n\n" + "\n\n".join(body) + "\n"


def build(n: int, out: Path, feed_mix: bool, seed: int) -> dict:
    real = real_articles()
    if feed_mix:
        rng = random.Random(seed)
        n_real = round(n * 0.2)
        order = list(range(len(real)))
        rng.shuffle(order)
        arts = [("real", s, t) for s, t in cycled(real, n_real, order)]
        for i in range(n - n_real):
            topic, text = general_article(rng)
            arts.append(("general", f"news-{topic}-{i:05d}", text))
        rng.shuffle(arts)
    else:
        arts = [("real", s, t) for s, t in cycled(real, n)]
    seen: set[bytes] = set()
    padded = 0
    for i, (_kind, stem, text) in enumerate(arts):
        data = text.encode("utf-8")
        while data in seen:   # a copy the variation left unchanged: differ in trailing newlines
            data += b"\n"
            padded += 1
        seen.add(data)
        (out / f"{i:05d}_{stem}.txt").write_bytes(data)
    return {"files": len(arts), "real": sum(a[0] == "real" for a in arts),
            "general": sum(a[0] == "general" for a in arts), "unique_real": min(n, len(real)),
            "bytes": sum(len(d) for d in seen), "padded": padded}


# -- measuring ---------------------------------------------------------------------------



def run_measured(cmd: list[str], stdout, cwd: str, env: dict | None = None, poll: float = 0.02) -> dict:
    """Run ``cmd``: wall s, CPU s (user+sys of it and every descendant it reaped, via
    wait4), peak RSS (sum over its live process tree, polled), rc, stderr."""
    import psutil

    err = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=err, cwd=cwd, env=env, text=True)
    peak = [0]
    own = [0.0]   # the root process's own CPU seconds (without its children), last poll
    done = threading.Event()

    def watch() -> None:
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not done.is_set():
            rss = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak[0] = max(peak[0], rss)
            try:
                t = root.cpu_times()
                own[0] = t.user + t.system
            except psutil.Error:
                pass
            done.wait(poll)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    watcher.join(timeout=5)
    proc.returncode = os.waitstatus_to_exitcode(status)   # reaped here, not by Popen
    err.seek(0)
    return {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss": peak[0], "parent_cpu_s": own[0],
            # largest single process, from the kernel (KiB on Linux)
            "max_proc_rss": ru.ru_maxrss * 1024, "rc": proc.returncode, "stderr": err.read()}


def extract_cmd(src: Path | None) -> list[str]:
    exe = Path(sys.executable).parent / "allegiance"
    return [str(exe)] if exe.exists() and src is None else [sys.executable, "-m", "allegiance"]


def ingest_db(tmp: str, tag: str) -> Path:
    """A fresh DuckDB file per ingest run (none left from an earlier one)."""
    db = Path(tmp) / f"ingest-{tag}.duckdb"
    for p in (db, db.with_name(db.name + ".wal")):
        if p.exists():
            p.unlink()
    return db


def run_ingest(base: list[str], corpus: Path, workers: int, tmp: str, env, n_docs: int, tag: str) -> dict:
    db = ingest_db(tmp, tag)
    r = run_measured([*base, "ingest", str(corpus), "--db", str(db), "--workers", str(workers)],
                     stdout=subprocess.DEVNULL, cwd=tmp, env=env)
    if r["rc"] != 0:
        raise SystemExit(f"allegiance ingest --workers {workers} exited {r['rc']}: {r['stderr'][-2000:]}")
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    finally:
        con.close()
    if stored != n_docs:
        raise SystemExit(f"allegiance ingest --workers {workers}: {stored} documents stored for {n_docs} files")
    r["stored"] = stored
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="articles in the corpus (default 200)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement; medians are printed")
    ap.add_argument("--feed-mix", action="store_true",
                    help="80%% general news naming no armed group, 20%% real articles")
    ap.add_argument("--corpus", type=Path, default=None, help="write the corpus here and keep it (new or empty folder)")
    ap.add_argument("--seed", type=int, default=0, help="seed for --feed-mix (shuffle, general news)")
    ap.add_argument("--src", type=Path, default=None,
                    help="import the allegiance package from this folder (first on PYTHONPATH) in every process, "
                         "e.g. a snapshot: git archive HEAD allegiance | tar -x -C DIR")
    ap.add_argument("--ingest-only", action="store_true",
                    help="only `allegiance ingest --workers W` into a fresh store: wall, CPU, peak RSS of the "
                         "process tree (the memory bar: e.g. --n 10000)")
    ap.add_argument("--workers", type=int, default=2, help="workers for --ingest-only (default 2)")
    ap.add_argument("--no-stages", action="store_true", help="skip the per-stage breakdown child")
    ap.add_argument("--no-ingest", action="store_true", help="skip the `allegiance ingest` runs")
    args = ap.parse_args()
    if args.n < 1 or args.repeat < 1:
        ap.error("--n and --repeat must be at least 1")
    env = None
    if args.src:
        src = args.src.resolve()
        if not (src / "allegiance" / "__init__.py").exists():
            ap.error(f"--src {src}: no allegiance/__init__.py there")
        sys.path.insert(0, str(src))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))}

    import psutil  # noqa: F401  (fail before building anything)

    load_start = os.getloadavg()[0]

    from allegiance.pipeline import read_documents

    tmp = tempfile.TemporaryDirectory(prefix="allegiance-real-")
    try:
        if args.corpus:
            corpus = args.corpus.resolve()
            corpus.mkdir(parents=True, exist_ok=True)
            if any(corpus.iterdir()):
                raise SystemExit(f"--corpus {corpus}: not empty")
        else:
            corpus = Path(tmp.name) / "corpus"
            corpus.mkdir()
        info = build(args.n, corpus, args.feed_mix, args.seed)
        mix = (f"feed mix: {info['general']} general news + {info['real']} real" if args.feed_mix
               else f"real: {info['unique_real']} distinct articles, {info['files'] - info['unique_real']} varied copies")
        base = extract_cmd(args.src)

        if args.ingest_only:
            print(f"corpus {corpus}: {info['files']} files ({mix}), {info['bytes']} bytes", flush=True)
            rs = [run_ingest(base, corpus, args.workers, tmp.name, env, info["files"], f"w{args.workers}-{i}")
                  for i in range(args.repeat)]
            report_ingest_only(args, rs, info["files"], load_start)
            return

        items = list(read_documents([str(corpus)]))
        docs = [d for d in items if not hasattr(d, "message")]
        if len(docs) != len(items):
            bad = [d for d in items if hasattr(d, "message")]
            print(f"warning: {len(bad)} files not read: {bad[0].source}: {bad[0].message}", file=sys.stderr)
        texts = [d.text for d in docs]
        texts_file = Path(tmp.name) / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        words = sum(len(t.split()) for t in texts)
        print(f"corpus {corpus}: {info['files']} files ({mix}), {info['bytes']} bytes, {words} words "
              f"of cleaned text" + (f"; {info['padded']} copies differ only by trailing newlines" if info["padded"] else ""),
              flush=True)

        help_out = subprocess.run([*base, "extract", "--help"], capture_output=True, text=True,
                                  cwd=tmp.name, env=env).stdout
        has_workers = "--workers" in help_out
        variants = [("allegiance extract", [])]
        if has_workers:
            variants = [("allegiance extract --workers 1", ["--workers", "1"]),
                        ("allegiance extract --workers 2", ["--workers", "2"])]
        ingest_variants = [] if args.no_ingest else (
            [("allegiance ingest --workers 1", 1), ("allegiance ingest --workers 2", 2)] if has_workers
            else [("allegiance ingest", 0)])

        runs: dict[str, list[dict]] = {name: [] for name, _ in variants + ingest_variants}
        runs["nlp.pipe"] = []
        out_jsonl = Path(tmp.name) / "out.jsonl"
        for rep in range(args.repeat):
            for name, extra in variants:
                with open(out_jsonl, "w", encoding="utf-8") as fh:
                    r = run_measured([*base, "extract", str(corpus), *extra], stdout=fh, cwd=tmp.name, env=env)
                if r["rc"] != 0:
                    raise SystemExit(f"{name} exited {r['rc']}: {r['stderr'][-2000:]}")
                lines = sum(1 for _ in open(out_jsonl, encoding="utf-8"))
                if lines != len(docs):
                    raise SystemExit(f"{name}: {lines} JSON lines for {len(docs)} documents")
                r["facts"] = sum(len(json.loads(l).get("facts", [])) for l in open(out_jsonl, encoding="utf-8"))
                runs[name].append(r)
            for name, w in ingest_variants:
                if w:
                    runs[name].append(run_ingest(base, corpus, w, tmp.name, env, len(docs), f"w{w}-{rep}"))
                else:   # no --workers option: the command as it is
                    db = ingest_db(tmp.name, f"plain-{rep}")
                    r = run_measured([*base, "ingest", str(corpus), "--db", str(db)], stdout=subprocess.DEVNULL,
                                     cwd=tmp.name, env=env)
                    if r["rc"] != 0:
                        raise SystemExit(f"{name} exited {r['rc']}: {r['stderr'][-2000:]}")
                    runs[name].append(r)
            child_out = Path(tmp.name) / "nlp.json"
            with open(child_out, "w", encoding="utf-8") as fh:
                r = run_measured([sys.executable, "-c", NLP_CHILD, str(texts_file)], stdout=fh, cwd=tmp.name,
                                 env=env)
            if r["rc"] != 0:
                raise SystemExit(f"nlp.pipe child failed: {r['stderr'][-2000:]}")
            r["child"] = json.loads(child_out.read_text(encoding="utf-8").strip().splitlines()[-1])
            runs["nlp.pipe"].append(r)
        stages = []
        if not args.no_stages:
            for rep in range(args.repeat):
                db = ingest_db(tmp.name, f"stages-{rep}")
                child_out = Path(tmp.name) / "stages.json"
                with open(child_out, "w", encoding="utf-8") as fh:
                    r = run_measured([sys.executable, str(ROOT / "bench" / "stages.py"), str(corpus), str(db)],
                                     stdout=fh, cwd=tmp.name, env=env)
                if r["rc"] != 0:
                    raise SystemExit(f"stages child failed: {r['stderr'][-2000:]}")
                stages.append(json.loads(child_out.read_text(encoding="utf-8").strip().splitlines()[-1]))
    finally:
        if not args.corpus:
            tmp.cleanup()
        else:
            shutil.rmtree(tmp.name, ignore_errors=True)
    report(args, runs, [name for name, _ in variants], [name for name, _ in ingest_variants], len(docs),
           has_workers, load_start)
    if stages:
        report_stages(stages, len(docs))
    print(f"machine: {os.cpu_count()} CPUs; load average (1 min) at start {load_start:.2f}, "
          f"at end {os.getloadavg()[0]:.2f}")


def med(rs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rs)


MB = 1024 * 1024


def report_ingest_only(args, rs: list[dict], n: int, load_start: float) -> None:
    reps = f"median of {args.repeat} runs" if args.repeat > 1 else "1 run"
    wall, cpu = med(rs, "wall_s"), med(rs, "cpu_s")
    peak = max(r["peak_rss"] for r in rs)
    print(f"allegiance ingest --workers {args.workers} into a fresh store, {n} articles ({reps}): "
          f"wall {wall:.1f} s, CPU {cpu:.1f} s, {n / wall:.2f} articles/s; peak RSS of the process tree "
          f"{peak / MB:.0f} MB (largest of the runs; largest single process {max(r['max_proc_rss'] for r in rs) / MB:.0f} MB)")
    print(f"memory bar (under 1 GB = 1024 MB): {'met' if peak < 1024 * MB else 'NOT met'}")
    print(f"machine: {os.cpu_count()} CPUs; load average (1 min) at start {load_start:.2f}, "
          f"at end {os.getloadavg()[0]:.2f}")


def report(args, runs: dict[str, list[dict]], extract_names: list[str], ingest_names: list[str], n_docs: int,
           has_workers: bool, load_start: float) -> None:
    nlp_runs = runs["nlp.pipe"]
    tokens = nlp_runs[0]["child"]["tokens"]
    child = nlp_runs[0]["child"]
    reps = f"median of {args.repeat} runs" if args.repeat > 1 else "1 run"
    print(f"texts: cleaned Document.text from allegiance.pipeline.read_documents (what extract reads); "
          f"{n_docs} articles, {tokens} tokens (spaCy tokenizer of {child['model']})")
    import allegiance
    print(f"code: {Path(allegiance.__file__).parent}; model load and Python start-up counted in both "
          f"(whole processes); {reps}")
    if not has_workers:
        print("`allegiance extract --help` lists no --workers: extract runs in one process")
    print(f"{'':32} {'articles':>8} {'tokens':>8} {'wall s':>8} {'CPU s':>8} {'art/s':>8} "
          f"{'tokens/s':>9} {'peak RSS':>9}")

    def line(name: str, rs: list[dict]) -> None:
        wall, cpu = med(rs, "wall_s"), med(rs, "cpu_s")
        print(f"{name:32} {n_docs:8d} {tokens:8d} {wall:8.2f} {cpu:8.2f} {n_docs / wall:8.2f} "
              f"{tokens / wall:9.0f} {med(rs, 'peak_rss') / MB:6.0f} MB", flush=True)

    for name in extract_names + ingest_names:
        line(name, runs[name])
    line("nlp.pipe (full pipeline)", nlp_runs)
    load = statistics.median(r["child"]["load_s"] for r in nlp_runs)
    pipe = statistics.median(r["child"]["pipe_s"] for r in nlp_runs)
    print(f"  nlp child: model load {load:.2f} s, pipe only {pipe:.2f} s ({tokens / pipe:.0f} tokens/s); "
          f"pipes {child['pipes']}")
    print(f"  extract: {runs[extract_names[0]][0]['facts']} facts in the JSON Lines; ingest: a fresh DuckDB "
          f"file per run")
    for name in extract_names + ingest_names:
        if name.endswith("--workers 2"):
            par, cpu = med(runs[name], "parent_cpu_s"), med(runs[name], "cpu_s")
            print(f"  {name}: the parent process (reading files, results back from the workers, JSON or "
                  f"store) {par:.2f} CPU s, its workers {cpu - par:.2f} CPU s (parent's own CPU as last "
                  f"polled, within {1000 * 0.02:.0f} ms of its end)")
    for name in extract_names + ingest_names:
        ex = runs[name]
        rw = med(nlp_runs, "wall_s") / med(ex, "wall_s")
        rc = med(nlp_runs, "cpu_s") / med(ex, "cpu_s")
        print(f"ratio bare/{name.split()[1]} ({name}): wall {rw:.2f}, CPU {rc:.2f}  "
              f"(nlp.pipe seconds / its seconds; > 1: it is faster)")
    for names in (extract_names, ingest_names):
        if len(names) == 2:
            w1, w2 = (med(runs[n], "wall_s") for n in names)
            print(f"speedup 2 workers / 1 worker ({names[0].rsplit(' --', 1)[0]}, {n_docs} articles): "
                  f"wall {w1:.2f} s / {w2:.2f} s = {w1 / w2:.2f}x")


def report_stages(stages: list[dict], n_docs: int) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from stages import RELATIONS_AND_MODEL, STAGES

    reps = len(stages)
    run_s = statistics.median(s["run_s"] for s in stages)
    print(f"where the time goes: `allegiance ingest --workers 1` path in one process (bench/stages.py: timers "
          f"around the pipeline's own functions, exclusive times), {n_docs} articles, "
          f"{'median of %d runs' % reps if reps > 1 else '1 run'}; model load + warm-up "
          f"{statistics.median(s['load_s'] for s in stages):.2f} s not included")
    rows = [(st, statistics.median(s["stages"][st] for s in stages)) for st in STAGES]
    rows.append(("other", statistics.median(s["other"] for s in stages)))
    rm = sum(v for st, v in rows if st in RELATIONS_AND_MODEL)
    for st, v in rows:
        tag = "  (relations and model)" if st in RELATIONS_AND_MODEL else ""
        print(f"  {st:12} {v:8.2f} s {100 * v / run_s:5.1f}%  {1000 * v / n_docs:7.1f} ms/article{tag}")
    print(f"  {'total':12} {run_s:8.2f} s; relations and model together {rm:.2f} s ({100 * rm / run_s:.1f}%)")


if __name__ == "__main__":
    main()
