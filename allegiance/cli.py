"""Command line: ``allegiance extract | ingest | actors | show | facts | eval | demo``.

Thin on purpose: the work is in ``allegiance.pipeline`` and ``allegiance.store``; this
module parses options and renders results. Article text and file names are hostile, so
nothing from the store is ever rendered as Rich markup, and every value printed goes through
``allegiance.textsafe`` (control characters escaped, one line per value)."""
from __future__ import annotations

import csv
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from allegiance.records import RELATIONS, IngestError
from allegiance.textsafe import clean, csv_cell, json_text
from allegiance.textsafe import console as _safe_console

DB_ENV = "ALLEGIANCE_DB"
DEFAULT_DB = "allegiance.duckdb"
ALLEGIANCE_RELATIONS = ("pledged_allegiance_to", "defected_from", "merged_into", "joined")

app = typer.Typer(
    name="allegiance",
    help="Turn news about militant organizations into an evidence-backed actor graph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_state = {"debug": False}

DbOption = typer.Option(DEFAULT_DB, "--db", envvar=DB_ENV, help="DuckDB store file.", show_default=True)


# -- plumbing ----------------------------------------------------------------------------
def _out() -> Console:
    return _safe_console()


def _err() -> Console:
    return _safe_console(stderr=True)


def _line(msg: str) -> None:
    """One plain line on stderr (errors and warnings: never markup, never wrapped; a file
    name's newline or ESC is escaped, so it cannot forge a line or drive the terminal)."""
    print(clean(msg), file=sys.stderr, flush=True)


def _debug() -> bool:
    return _state["debug"] or os.environ.get("ALLEGIANCE_DEBUG", "") not in ("", "0", "false", "no")


def _guarded(fn: Callable) -> Callable:
    """Turn failures into one line and an exit code: 2 for a locked store, 1 otherwise.
    ``--debug`` / ALLEGIANCE_DEBUG=1 lets the traceback through."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from allegiance.store import StoreError, StoreLockedError

        from allegiance.pipeline import Terminated, release_workers, terminate_as_interrupt

        try:
            with terminate_as_interrupt():
                return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except StoreLockedError as exc:
            if _debug():
                raise
            _line(f"error: {exc}")
            raise typer.Exit(2) from None
        except StoreError as exc:
            if _debug():
                raise
            _line(f"error: {exc}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt as exc:   # Ctrl-C, or SIGTERM (Terminated)
            terminated = isinstance(exc, Terminated)
            # worker processes are ended by now; reap the pool's helper too
            release_workers(exc)
            _line("error: terminated" if terminated else "error: interrupted")
            raise typer.Exit(143 if terminated else 130) from None
        except Exception as exc:
            if _debug():
                raise
            _line(f"error: {type(exc).__name__}: {exc}")
            release_workers(exc)
            raise typer.Exit(1) from None

    return wrapper


#: seconds a read waits for the file: a running `allegiance serve` holds it read-write only
#: while it stores one review or upload, and readers share it the rest of the time
READ_WAIT_S = 15.0


def _open_store(db: str | Path, read_only: bool):
    from allegiance.store import Store

    # ALLEGIANCE_LOCK_WAIT: seconds instead of READ_WAIT_S (0: fail at once, as before serve shared)
    try:
        wait = float(os.environ.get("ALLEGIANCE_LOCK_WAIT", READ_WAIT_S))
    except ValueError:
        wait = READ_WAIT_S
    return Store(db, read_only=read_only, wait=wait if read_only else 0.0)


def _t(value: Any) -> Text:
    """Data as literal text: no markup, control characters escaped (one line)."""
    return Text(clean(value))


def _fmt_conf(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f}"


@app.callback()
def main(
    debug: bool = typer.Option(
        False, "--debug", envvar="ALLEGIANCE_DEBUG", help="Show tracebacks on errors."
    ),
) -> None:
    """Turn news about militant organizations into an evidence-backed actor graph."""
    _state["debug"] = debug


# -- extract ------------------------------------------------------------------------------
@app.command()
@_guarded
def extract(
    paths: list[str] = typer.Argument(..., help="Files or folders ('-' for stdin)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write JSON Lines here."),
    workers: Optional[int] = typer.Option(
        None, "--workers", "-j", min=1, help="Extraction processes (default: one per core; small batches run in-process)."
    ),
) -> None:
    """Extract entities and facts: one JSON object per document (JSON Lines)."""
    from allegiance.pipeline import default_workers, extract_paths

    failed = 0
    fh = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        for item in extract_paths(paths, workers=workers or default_workers()):
            if isinstance(item, IngestError):
                failed += 1
                _line(f"error: {item.source}: {item.message}")
                continue
            for warning in item.document.warnings:
                _line(f"warning: {item.document.doc_id}: {warning}")
            fh.write(json_text(json.dumps(item.to_schema(), ensure_ascii=False)) + "\n")
            fh.flush()
    finally:
        if output:
            fh.close()
    if failed:
        raise typer.Exit(1)


# -- ingest -------------------------------------------------------------------------------
# Documents are stored in batches (one transaction each: far cheaper per document). A batch
# is cut after BATCH_SECONDS or its size, which doubles from 1 to BATCH_DOCS: the first
# documents are stored (and shown) at once, and an interrupted run loses little.
BATCH_DOCS = 64
BATCH_SECONDS = 1.0


def _ingest(store, paths: Iterable[str], on_stored: Optional[Callable[[Any], None]] = None,
            workers: int = 1) -> dict[str, int]:
    """Run the pipeline into the store with a progress display on stderr.
    ``on_stored(document)`` is called after each document is stored."""
    import time

    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from allegiance.extract import EXTRACTOR_VERSION
    from allegiance.pipeline import extract_paths

    tally = dict(added=0, unchanged=0, replaced=0, failed=0, actors_added=0, facts_added=0)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("ingesting"),
        BarColumn(),
        TextColumn("{task.completed} documents"),
        TextColumn("{task.description}", markup=False),  # a document name, not markup
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    )
    # stored by this extractor version, before or during this run: no need to extract
    # (read once; the pipeline asks from its feeder thread, ahead of what is stored)
    current = store.current_hashes(EXTRACTOR_VERSION)
    batch: list[Any] = []  # extractions and read errors, in input order
    with progress:
        task = progress.add_task("", total=None)

        def flush() -> None:
            items = list(batch)
            batch.clear()
            results = iter(store.add_extractions([it for it in items if not isinstance(it, IngestError)]))
            for item in items:
                if isinstance(item, IngestError):
                    tally["failed"] += 1
                    progress.console.print(_t(f"error: {item.source}: {item.message}"), soft_wrap=True)
                    progress.advance(task)
                    continue
                name = item.document.doc_id
                progress.update(task, description=clean(name[-40:]))
                for warning in item.document.warnings:
                    progress.console.print(_t(f"warning: {name}: {warning}"), soft_wrap=True)
                result = next(results)
                if result.status == "failed":
                    if _debug():
                        raise result.error
                    exc = result.error
                    tally["failed"] += 1
                    progress.console.print(
                        _t(f"error: {item.document.source}: could not store: {type(exc).__name__}: {exc}"),
                        soft_wrap=True,
                    )
                else:
                    tally[result.status] += 1
                    tally["actors_added"] += result.actors_added
                    tally["facts_added"] += result.facts_added
                    if item.extractor_version == EXTRACTOR_VERSION:
                        current.add(item.document.content_hash)
                    if on_stored is not None:
                        on_stored(item.document)
                progress.advance(task)

        started, size = 0.0, 1
        try:
            for item in extract_paths(paths, workers=workers, skip=lambda doc: doc.content_hash in current):
                if not batch:
                    started = time.monotonic()
                batch.append(item)
                if not isinstance(item, IngestError):
                    progress.update(task, description=clean(item.document.doc_id[-40:]))
                if len(batch) >= size or time.monotonic() - started >= BATCH_SECONDS:
                    flush()
                    size = min(2 * size, BATCH_DOCS)
        except KeyboardInterrupt:
            flush()  # keep what was extracted before Ctrl-C, as storing one by one did
            raise
        flush()
    return tally


def _ingest_spark(store, paths: list[str], master: str, parquet_out: Optional[Path],
                  fetch_options=None) -> dict[str, int]:
    """Extract on Spark (the same extraction function in every executor), then load the
    Parquet here so cross-document resolution runs exactly as in a local ingest."""
    import tempfile

    try:
        from allegiance.scale.spark import run_spark_ingest
    except ImportError as exc:  # pyspark missing
        raise typer.BadParameter(f"--engine spark needs pyspark: pip install 'allegiance[spark]' ({exc})")
    from allegiance.scale.parquet import load_parquet

    def report(item, result) -> None:
        if result is None:
            _line(f"error: {item.source}: {item.message}")

    with tempfile.TemporaryDirectory(prefix="allegiance-spark-") as tmp:
        out = str(parquet_out) if parquet_out else str(Path(tmp) / "parquet")
        stats = run_spark_ingest(paths, out, master=master, fetch_options=fetch_options)
        _err().print(_t(f"spark: {stats.get('inputs', '?')} inputs in {stats.get('seconds', 0):.1f} s -> {out}"),
                     soft_wrap=True)
        return load_parquet(out, store, on_item=report)


def _print_summary(console: Console, tally: dict[str, int], counts: dict[str, int], db: str | Path) -> None:
    console.print(
        _t(
            f"documents: {tally['added']} added, {tally['unchanged']} unchanged, "
            f"{tally['replaced']} replaced, {tally['failed']} failed"
        )
    )
    console.print(_t(f"actors added: {tally['actors_added']}, facts added: {tally['facts_added']}"))
    console.print(
        _t(
            f"store {db}: {counts['documents']} documents, {counts['actors']} actors, "
            f"{counts['aliases']} aliases, {counts['mentions']} mentions, {counts['facts']} facts"
        ),
        soft_wrap=True,
    )


def _add_tally(total: dict[str, int], tally: dict[str, int]) -> None:
    for k, v in tally.items():
        total[k] = total.get(k, 0) + v


def _ingest_feeds(store, feeds: list[str], fetch_options, total: dict[str, int]) -> None:
    """Fetch each feed; ingest the items not yet in ``feed_items``; record those stored."""
    from allegiance.ingest.feeds import FeedState, read_feed
    from allegiance.ingest.web import fetching

    state = FeedState(store.con)
    console = _out()
    with fetching(fetch_options) as fetcher:
        for spec in feeds:
            feed = read_feed(spec, fetcher)
            if isinstance(feed, IngestError):
                total["failed"] = total.get("failed", 0) + 1
                _line(f"error: {feed.source}: {feed.message}")
                continue
            for warning in feed.warnings:
                _line(f"warning: {feed.key}: {warning}")
            new = state.new_items(feed)
            console.print(_t(f"feed {feed.key}: {len(feed.items)} items, {len(new)} new"), soft_wrap=True)
            by_url: dict[str, list] = {}
            for item in new:
                by_url.setdefault(item.url, []).append(item)

            def mark(doc, by_url=by_url) -> None:
                for item in by_url.pop(doc.source, []):
                    state.mark(item)

            if by_url:
                _add_tally(total, _ingest(store, list(by_url), on_stored=mark))


def _watch(store, directory: Path, interval: float, max_polls: Optional[int]) -> dict[str, int]:
    from allegiance.ingest.watch import Watcher, stop_on_signals

    console = _out()

    def report(paths: list[str], tally: dict[str, int]) -> None:
        console.print(
            _t(
                f"ingested {len(paths)} file{'s' if len(paths) != 1 else ''}: {tally['added']} added, "
                f"{tally['unchanged']} unchanged, {tally['replaced']} replaced, {tally['failed']} failed"
            ),
            soft_wrap=True,
        )

    with stop_on_signals() as should_stop:
        watcher = Watcher(
            directory, lambda paths: _ingest(store, paths), interval=interval, max_polls=max_polls,
            should_stop=should_stop, log=_line, report=report,
        )
        _line(f"watching {watcher.directory} every {interval:g} s (Ctrl-C to stop)")
        summary = watcher.run()
    how = "stopped" if summary.interrupted else "done"
    console.print(_t(f"watch {how} after {summary.polls} polls: {summary.files} files ingested"), soft_wrap=True)
    return summary.tally


@app.command()
@_guarded
def ingest(
    paths: Optional[list[str]] = typer.Argument(
        None, help="Files, folders, .warc/.warc.gz crawls, http(s):// URLs ('-' for stdin)."
    ),
    db: str = DbOption,
    urls: Optional[list[Path]] = typer.Option(
        None, "--urls", help="File of URLs to fetch, one a line (# comments and blank lines skipped)."
    ),
    feed: Optional[list[str]] = typer.Option(
        None, "--feed", help="RSS/Atom feed (URL or file): ingest each item's link once (new items only on re-runs)."
    ),
    watch: Optional[Path] = typer.Option(
        None, "--watch", help="Ingest a folder's files, then keep polling it for new and changed files."
    ),
    interval: float = typer.Option(5.0, "--interval", min=0.05, help="Seconds between polls with --watch."),
    max_polls: Optional[int] = typer.Option(None, "--max-polls", min=1, hidden=True, help="Stop --watch after N polls."),
    allow_private: bool = typer.Option(
        False, "--allow-private", help="Allow fetching private and loopback addresses (not link-local ones)."
    ),
    allow_link_local: bool = typer.Option(
        False, "--allow-link-local",
        help="Allow fetching link-local (169.254.0.0/16, fe80::/10) and cloud metadata addresses, "
             "which --allow-private leaves refused.",
    ),
    timeout: float = typer.Option(
        10.0, "--timeout", min=0.05,
        help="Connect/read timeout for fetches, seconds (each whole fetch: 3 times this, at least 60 s).",
    ),
    workers: Optional[int] = typer.Option(
        None, "--workers", "-j", min=1, help="Extraction processes (default: one per core; small batches run in-process)."
    ),
    engine: str = typer.Option("local", "--engine", help="local, or spark (needs the allegiance[spark] extra)."),
    master: str = typer.Option("local[*]", "--master", help="Spark master URL with --engine spark."),
    parquet_out: Optional[Path] = typer.Option(
        None, "--parquet-out", help="With --engine spark: keep the extracted Parquet here (default: a temp folder)."
    ),
) -> None:
    """Extract documents and add them to the store (re-ingesting is safe).

    Sources: files and folders, WARC crawls, URLs (arguments or --urls FILE), RSS/Atom feeds (--feed), or a watched folder (--watch)."""
    from allegiance.ingest.web import FetchOptions, fetching, read_url_list

    paths = list(paths or [])
    if watch is not None:
        if paths or urls or feed:
            raise typer.BadParameter("--watch cannot be combined with other sources", param_hint="--watch")
        if not watch.expanduser().is_dir():
            raise typer.BadParameter(f"{clean(watch)} is not a folder", param_hint="--watch")
    elif not (paths or urls or feed):
        raise typer.BadParameter("nothing to ingest: give files, folders or URLs, or --urls, --feed or --watch")
    options = FetchOptions(allow_private=allow_private, allow_link_local=allow_link_local, timeout=timeout)
    total: dict[str, int] = dict(added=0, unchanged=0, replaced=0, failed=0, actors_added=0, facts_added=0)
    with _open_store(db, read_only=False) as store:
        if watch is not None:
            _add_tally(total, _watch(store, watch, interval, max_polls))
        for listing in urls or []:
            listed, problems = read_url_list(str(listing))
            for problem in problems:
                total["failed"] += 1
                _line(f"error: {problem.source}: {problem.message}")
            paths.extend(listed)
        if paths and engine == "spark":
            _add_tally(total, _ingest_spark(store, paths, master, parquet_out, options))
            paths = []
        elif engine != "local":
            raise typer.BadParameter("must be local or spark", param_hint="--engine")
        if paths:
            from allegiance.pipeline import default_workers

            with fetching(options):
                _add_tally(total, _ingest(store, paths, workers=workers or default_workers()))
        if feed:
            _ingest_feeds(store, feed, options, total)
        _print_summary(_out(), total, store.counts(), db)
    if total["failed"]:
        raise typer.Exit(1)


# -- actors -------------------------------------------------------------------------------
def _actors_table(rows: list[dict], title: str | None = None) -> Table:
    table = Table(title=title)
    table.add_column("actor")
    table.add_column("id")
    table.add_column("type")
    table.add_column("mentions", justify="right")
    table.add_column("documents", justify="right")
    for r in rows:
        table.add_row(_t(r["name"]), _t(r["id"]), _t(r["type"]), _t(r["mentions"]), _t(r["documents"]))
    return table


@app.command()
@_guarded
def actors(
    db: str = DbOption,
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="Show at most N actors."),
    type: Optional[str] = typer.Option(None, "--type", "-t", help="ORG, PERSON or PLACE."),
) -> None:
    """List actors, most mentioned first."""
    if type and type.upper() not in ("ORG", "PERSON", "PLACE"):
        raise typer.BadParameter("must be ORG, PERSON or PLACE", param_hint="--type")
    with _open_store(db, read_only=True) as store:
        rows = store.actors(limit=limit, type=type)
    console = _out()
    if not rows:
        console.print(_t("no actors in the store yet: run `allegiance ingest PATH...`"))
        return
    console.print(_actors_table(rows))


# -- show ---------------------------------------------------------------------------------
def _fact_line(f: dict, subject: str, obj: str) -> Text:
    line = Text("  ")
    line.append(f"{clean(subject)} → {clean(obj)}", style="bold")
    if f.get("date"):
        src = " (published)" if f.get("date_source") == "published" else ""
        line.append(f"  {clean(f['date'])}{src}")
    doc = clean(f.get("doc_id"))
    if f.get("title"):
        doc = f"{doc} “{clean(f['title'])}”"
    if doc:
        line.append(f"  [{doc}]", style="cyan")
    if f.get("attributed_to"):
        line.append(f"  according to {clean(f['attributed_to'])}", style="italic")
    if f.get("hedged"):
        line.append("  (hedged)", style="yellow")
    if f.get("confidence") is not None:
        line.append(f"  conf {_fmt_conf(f['confidence'])}", style="dim")
    return line


def _evidence_line(evidence: str | None) -> Text:
    ev = " ".join((evidence or "").split())
    return Text(f"      “{clean(ev)}”", style="dim") if ev else Text("")


@app.command()
@_guarded
def show(
    name: str = typer.Argument(..., help="Actor id, name or any alias."),
    db: str = DbOption,
) -> None:
    """Everything about one actor: aliases and relations with evidence."""
    with _open_store(db, read_only=True) as store:
        matches = store.find_actors(name)
        if not matches:
            _line(f"error: no actor matches {name!r} in {db} (try `allegiance actors`)")
            raise typer.Exit(1)
        card = store.actor_card(matches[0]["id"])
    console = _out()
    a = card["actor"]
    head = Text(clean(a["name"]), style="bold")
    head.append(clean(f"  id={a['id']}  type={a['type']}"))
    if a.get("kind"):
        head.append(clean(f"  kind={a['kind']}"))
    console.print(head, soft_wrap=True)
    best = matches[0]
    if best["match"] in ("fuzzy", "partial"):
        # one line, never wrapped: a wrapped alias could start a line of its own choosing
        console.print(_t(f"(closest match for {name!r}: {best['matched']!r}, score {best['score']})"), soft_wrap=True)
    console.print(_t(f"mentions: {a['mentions']} in {a['documents']} documents"))
    aliases = ", ".join(f"{al['alias']} ({al['count']})" for al in card["aliases"])
    console.print(_t(f"aliases: {aliases or '-'}"), soft_wrap=True)
    if len(matches) > 1:
        others = "; ".join(f"{m['name']} ({m['id']}, {m['type']})" for m in matches[1:6])
        more = f" and {len(matches) - 6} more" if len(matches) > 6 else ""
        console.print(_t(f"other matches: {others}{more}"), soft_wrap=True)
    if not card["relations"]:
        console.print(_t("no relations recorded"))
        return
    for relation in sorted(card["relations"], key=lambda r: RELATIONS.index(r) if r in RELATIONS else 99):
        items = card["relations"][relation]
        console.print()
        console.print(Text(clean(f"{relation} ({len(items)})"), style="bold magenta"))
        for f in items:
            subject, obj = (a["name"], f["other_name"]) if f["direction"] == "out" else (f["other_name"], a["name"])
            console.print(_fact_line(f, subject, obj), soft_wrap=True)
            console.print(_evidence_line(f["evidence"]), soft_wrap=True)


# -- facts --------------------------------------------------------------------------------
FACT_COLUMNS = [
    "date", "date_source", "subject", "subject_id", "relation", "object", "object_id",
    "confidence", "hedged", "attributed_to", "doc_id", "title", "evidence", "start", "end",
    "attributes", "id",
]


def _check_relation(relation: str | None) -> None:
    if relation and relation not in RELATIONS:
        raise typer.BadParameter(f"unknown relation {relation!r}; one of: {', '.join(RELATIONS)}", param_hint="--relation")


def _check_date(value: str | None, hint: str) -> None:
    from allegiance.store.queries import check_date

    if value:
        try:
            check_date(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=hint) from None


def _facts_table(rows: list[dict], title: str | None = None) -> Table:
    """Four columns so it stays readable at 80 characters: date, the fact (subject /
    relation / object), where it comes from (document, confidence, flags), evidence."""
    table = Table(title=title, show_lines=True)
    table.add_column("date", no_wrap=True)
    table.add_column("fact", ratio=2)
    table.add_column("source", ratio=1)
    table.add_column("evidence", ratio=3)
    for f in rows:
        # the newlines here are the cell's layout; each value is cleaned to one line
        fact = Text(clean(f["subject"]), style="bold")
        fact.append(f"\n{clean(f['relation'])}", style="magenta")
        fact.append(f"\n{clean(f['object'])}", style="bold")
        src = Text(clean(f.get("doc_id")))
        src.append(f"\nconf {_fmt_conf(f.get('confidence'))}", style="dim")
        if f.get("hedged"):
            src.append("\nhedged", style="yellow")
        if f.get("attributed_to"):
            src.append(f"\nvia {clean(f['attributed_to'])}", style="italic")
        table.add_row(_t(f.get("date") or ""), fact, src, _t(" ".join((f.get("evidence") or "").split())))
    return table


def _jsonable(f: dict) -> dict:
    return {k: f.get(k) for k in FACT_COLUMNS}


@app.command()
@_guarded
def facts(
    db: str = DbOption,
    actor: Optional[str] = typer.Option(None, "--actor", "-a", help="Either end (id, name or alias)."),
    relation: Optional[str] = typer.Option(None, "--relation", "-r", help=f"One of: {', '.join(RELATIONS)}."),
    since: Optional[str] = typer.Option(None, "--since", help="YYYY, YYYY-MM or YYYY-MM-DD."),
    until: Optional[str] = typer.Option(None, "--until", help="YYYY, YYYY-MM or YYYY-MM-DD."),
    source: Optional[str] = typer.Option(None, "--source", "-s", help="Substring of doc id, path or title."),
    no_hedged: bool = typer.Option(False, "--no-hedged", help="Leave out hedged facts."),
    format: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1),
    include_rejected: bool = typer.Option(
        False, "--include-rejected", help="Also list facts an analyst rejected in review (for audit)."
    ),
) -> None:
    """Query facts by actor, relation, date range and source (rejected facts are hidden)."""
    fmt = format.lower()
    if fmt not in ("table", "json", "csv"):
        raise typer.BadParameter("must be table, json or csv", param_hint="--format")
    _check_relation(relation)
    _check_date(since, "--since")
    _check_date(until, "--until")
    with _open_store(db, read_only=True) as store:
        rows = store.facts(
            actor=actor, relation=relation, since=since, until=until, source=source,
            include_hedged=not no_hedged, limit=limit, include_rejected=include_rejected,
        )
    if fmt == "json":
        sys.stdout.write(json_text(json.dumps([_jsonable(f) for f in rows], ensure_ascii=False, indent=2, default=str)) + "\n")
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(FACT_COLUMNS)
        for f in rows:
            rec = _jsonable(f)
            rec["attributes"] = json.dumps(rec["attributes"] or {}, ensure_ascii=False)
            writer.writerow([csv_cell(rec[c]) for c in FACT_COLUMNS])  # text escaped, formula-safe
        sys.stdout.write(buf.getvalue())
    else:
        console = _out()
        if not rows:
            console.print(_t("no facts match"))
            return
        console.print(_facts_table(rows))
        console.print(_t(f"{len(rows)} facts"))


# -- eval ---------------------------------------------------------------------------------
@app.command("eval")
@_guarded
def eval_(
    paths: Optional[list[str]] = typer.Argument(None, help="Files or folders to extract (a .jsonl among them is read "
                                                "as gold)."),
    gold: list[Path] = typer.Option([], "--gold", help="Gold JSON Lines file (repeat for several)."),
    cv: int = typer.Option(0, "--cv", help="K-fold document-level cross-validation of the relation model "
                                          "(trained on K-1 folds, scored on the K-th)."),
    errors: bool = typer.Option(False, "--errors", help="List misses and false positives."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    incidents: bool = typer.Option(False, "--incidents", help="Score incident linking against an incident gold "
                                   "file (gold/incidents.jsonl): ingest the paths into a fresh store, print "
                                   "pairwise report-linking P/R/F1."),
    muc4: Optional[Path] = typer.Option(None, "--muc4", help="Score attacks on MUC-4: the benchmark folder "
                                        "(raw_muc4/, gtt_templates/); no other paths needed."),
    split: str = typer.Option("dev", "--split", help="With --muc4: dev (TST1+TST2) or test (TST3+TST4)."),
) -> None:
    """Score the extractor against gold annotations."""
    from allegiance.eval.report import render_report, report_to_dict
    from allegiance.eval.scoring import load_gold, score_corpus
    from allegiance.pipeline import extract_paths

    if muc4 is not None:
        _eval_muc4(muc4, split, as_json)
        return
    if not paths:
        raise typer.BadParameter("give the files or folders to extract", param_hint="PATHS")
    gold_paths, paths = _split_gold(gold, paths)
    if incidents:
        _eval_incidents(gold_paths, paths, as_json)
        return
    failed = 0
    if cv:
        from allegiance.learn.cv import cross_validate

        corpus = _load_corpus(gold_paths, paths)
        failed = len(corpus.errors)
        with _progress() as progress:
            task = progress.add_task("cross-validating", total=cv)
            report = cross_validate(corpus, cv, on_fold=lambda n, k: progress.update(task, completed=n))
    else:
        gold_docs = [g for p in gold_paths for g in load_gold(p)]
        preds = []
        for item in extract_paths(paths):
            if isinstance(item, IngestError):
                failed += 1
                _line(f"error: {item.source}: {item.message}")
                continue
            preds.append(item.to_schema())
        report = score_corpus(gold_docs, preds)
    if as_json:
        sys.stdout.write(json.dumps(report_to_dict(report), ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        render_report(report, _out(), errors=errors)
    if failed:
        raise typer.Exit(1)


def _eval_muc4(folder: Path, split: str, as_json: bool) -> None:
    from allegiance.eval.muc4 import SPLIT_FILES, measure

    if split not in SPLIT_FILES:
        raise typer.BadParameter(f"{split!r}: dev or test", param_hint="--split")
    templates = folder / "gtt_templates" / f"{split}.json"
    if not templates.is_file():
        raise typer.BadParameter(f"{templates}: no template file for the {split} split", param_hint="--muc4")
    with _progress() as progress:
        progress.add_task(f"extracting MUC-4 {split}", total=None)
        report = measure(folder, split)
    for err in report.errors:
        _line(f"error: {err}")
    if as_json:
        sys.stdout.write(json_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2)) + "\n")
    else:
        for line in report.lines():
            sys.stdout.write(clean(line) + "\n")


def _eval_incidents(gold_paths: list[Path], paths: list[str], as_json: bool) -> None:
    import tempfile
    from dataclasses import asdict

    from allegiance.eval.incidents import measure

    if len(gold_paths) != 1:
        raise typer.BadParameter("give one incident gold file", param_hint="--gold")
    with tempfile.TemporaryDirectory() as tmp:
        report = measure(gold_paths[0], paths, Path(tmp) / "incidents.duckdb")
    for err in report.errors:
        _line(f"error: {err}")
    if as_json:
        sys.stdout.write(json_text(json.dumps(asdict(report), ensure_ascii=False, indent=2)) + "\n")
    else:
        for line in report.lines():
            sys.stdout.write(clean(line) + "\n")


# -- incidents ----------------------------------------------------------------------------
INCIDENT_COLUMNS = ["incident_id", "date", "place", "attackers", "targets", "killed", "reports"]


def _incident_json(rec: dict) -> dict:
    """The issue's json (one shaping for the CLI and /api/incidents: store/incidents.summary)."""
    from allegiance.store.incidents import summary

    return summary(rec)


# `incidents` is a group whose bare form lists (as it did before merge/split existed), so
# `allegiance incidents --disputed` and `allegiance incidents merge A B` both read naturally
incidents_app = typer.Typer(help="Incidents: list them (no subcommand), or merge / split them (audited).",
                            invoke_without_command=True, no_args_is_help=False)
app.add_typer(incidents_app, name="incidents")


@incidents_app.callback()
@_guarded
def incidents_cmd(
    ctx: typer.Context,
    db: str = DbOption,
    since: Optional[str] = typer.Option(None, "--since", help="YYYY, YYYY-MM or YYYY-MM-DD."),
    until: Optional[str] = typer.Option(None, "--until", help="YYYY, YYYY-MM or YYYY-MM-DD."),
    place: Optional[str] = typer.Option(None, "--place", help="Place id or part of its name."),
    actor: Optional[str] = typer.Option(None, "--actor", "-a", help="Attacker id or part of its name."),
    disputed: bool = typer.Option(False, "--disputed", help="Only incidents whose reports disagree."),
    format: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
    min_sources: int = typer.Option(1, "--min-sources", min=1, help="Only incidents told by this many reports."),
) -> None:
    """Incidents: one attack told by many reports, with each report's version side by side.
    Subcommands merge, split and edits change them and show the audit trail."""
    if ctx.invoked_subcommand is not None:
        return
    fmt = format.lower()
    if fmt not in ("table", "json", "csv"):
        raise typer.BadParameter("must be table, json or csv", param_hint="--format")
    _check_date(since, "--since")
    _check_date(until, "--until")
    with _open_store(db, read_only=True) as store:
        rows = store.incidents(since=since, until=until, place=place, actor=actor,
                               disputed=True if disputed else None, min_sources=min_sources)
    if fmt == "json":
        for rec in rows:
            sys.stdout.write(json_text(json.dumps(_incident_json(rec), ensure_ascii=False)) + "\n")
    elif fmt == "csv":
        from allegiance.export.csv_incidents import write_records

        buf = io.StringIO()
        write_records(rows, buf)
        sys.stdout.write(buf.getvalue())
    else:
        console = _out()
        if not rows:
            console.print(_t("no incidents match"))
            return
        table = Table(show_lines=True)
        for col in ("incident", "date", "place", "attackers (status per report)", "killed", "reports"):
            table.add_column(col)
        for rec in rows:
            att = "\n".join(clean(a['name']) + ": " + ", ".join(
                r["status"] + (" (denied)" if r["denied"] else "") for r in a["reports"]) for a in rec["attackers"])
            k = rec["killed"]
            killed = "" if k["min"] is None else (f"{k['min']}" if k["min"] == k["max"] else f"{k['min']}-{k['max']}")
            date = rec["date"] or ""
            if rec["date_max"] and rec["date_max"] != rec["date"]:
                date += f" / {rec['date_max']}"
            iid = clean(rec["incident_id"]) + ("\nDISPUTED: " + ", ".join(rec["disputes"]) if rec["disputed"] else "")
            # each value cleaned on its own, then one per line (a value never breaks a line)
            table.add_row(Text(iid), _t(date), _t(rec["place"]["name"] if rec["place"] else ""), Text(att),
                          _t(killed), Text("\n".join(clean(r["doc_id"]) for r in rec["reports"])))
        console.print(table)
        console.print(_t(f"{len(rows)} incidents"))


UserOption = typer.Option(None, "--user", help="Who makes the edit (stored with it; as the web's reviewer "
                          "name). Default: $USER, else anonymous.")
NoteOption = typer.Option(None, "--note", help="Why (stored with the edit).")


def _editor(user: Optional[str]) -> str:
    return (user or os.environ.get("USER") or "anonymous").strip() or "anonymous"


def _print_edit(kind: str, result: dict) -> None:
    console = _out()
    console.print(_t(f"{kind}: edit {result['edit_id']}"), soft_wrap=True)
    for label, key in (("incident", "incident"), ("split off", "split")):
        rec = result.get(key)
        if rec:
            docs = ", ".join(r["doc_id"] for r in rec["reports"])
            console.print(_t(f"  {label} {rec['incident_id']}: {rec['sources']} reports ({docs})"), soft_wrap=True)


@incidents_app.command("merge")
@_guarded
def incidents_merge(
    incident_ids: list[str] = typer.Argument(..., help="Two or more incident ids (inc-...)."),
    db: str = DbOption,
    user: Optional[str] = UserOption,
    note: Optional[str] = NoteOption,
) -> None:
    """Merge incidents into one, with every report of each.

    Recorded in incident_edits and replayed after every relink (later ingests keep it)."""
    from allegiance.store import StoreError
    from allegiance.store.incidents import EditError, merge_incidents

    with _open_store(db, read_only=False) as store:
        try:
            result = merge_incidents(store, incident_ids, note=note, user=_editor(user))
        except EditError as exc:
            raise StoreError(str(exc)) from None
    _print_edit("merged", result)


@incidents_app.command("split")
@_guarded
def incidents_split(
    incident_id: str = typer.Argument(..., help="The incident (inc-...)."),
    doc_id: str = typer.Argument(..., help="The report to take out: its doc_id (as in `extract`) or document id."),
    db: str = DbOption,
    user: Optional[str] = UserOption,
    note: Optional[str] = NoteOption,
) -> None:
    """Split one report out of an incident into an incident of its own.

    Recorded in incident_edits and replayed after every relink (later ingests keep it)."""
    from allegiance.store import StoreError
    from allegiance.store.incidents import EditError, split_report

    with _open_store(db, read_only=False) as store:
        try:
            result = split_report(store, incident_id, doc_id, note=note, user=_editor(user))
        except EditError as exc:
            raise StoreError(str(exc)) from None
    _print_edit("split", result)


@incidents_app.command("edits")
@_guarded
def incidents_edits(
    db: str = DbOption,
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """The audit trail of analysts' merges and splits, oldest first."""
    if format.lower() not in ("table", "json"):
        raise typer.BadParameter("must be table or json", param_hint="--format")
    with _open_store(db, read_only=True) as store:
        rows = store.incident_edits()
    if format.lower() == "json":
        for e in rows:
            e = {**e, "mention_ids": json.loads(e["mention_ids"])}
            sys.stdout.write(json_text(json.dumps(e, ensure_ascii=False)) + "\n")
        return
    console = _out()
    if not rows:
        console.print(_t("no incident edits"))
        return
    table = Table()
    for col in ("when", "action", "user", "mentions", "note"):
        table.add_column(col)
    for e in rows:
        table.add_row(_t(e["created_at"]), _t(e["action"]), _t(e["user"] or ""),
                      Text("\n".join(clean(m) for m in json.loads(e["mention_ids"]))), _t(e["note"] or ""))
    console.print(table)


def _split_gold(gold: list[Path], paths: list[str]) -> tuple[list[Path], list[str]]:
    """``--gold A --gold B DOCS`` or ``--gold A B.jsonl DOCS``: gold files may also stand
    among the paths (documents are never JSON Lines)."""
    gold_paths = list(gold) + [Path(p) for p in paths if p.endswith(".jsonl")]
    paths = [p for p in paths if not p.endswith(".jsonl")]
    if not gold_paths:
        raise typer.BadParameter("no gold file: give --gold FILE")
    if not paths:
        raise typer.BadParameter("no documents to read")
    return gold_paths, paths


def _progress():
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=_err(), transient=True)


def _load_corpus(gold_paths: list[Path], paths: list[str]):
    from allegiance.learn.cv import load_corpus

    with _progress() as progress:
        task = progress.add_task("reading and parsing", total=None)
        corpus = load_corpus(gold_paths, paths, on_document=lambda n: progress.update(task, completed=n))
    for err in corpus.errors:
        _line(f"error: {err.source}: {err.message}")
    if corpus.missing:
        _line(f"warning: {len(corpus.missing)} gold documents not found among the paths")
    return corpus


# -- train --------------------------------------------------------------------------------
@app.command()
@_guarded
def train(
    paths: list[str] = typer.Argument(..., help="Documents of the gold (files or folders; a .jsonl among them is gold)."),
    gold: list[Path] = typer.Option([], "--gold", help="Gold JSON Lines file (repeat for several)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Artifact folder (default: the shipped model's, "
                                                          "allegiance/data/models/relations)."),
    cv: int = typer.Option(5, "--cv", help="Folds of the cross-validation whose scores the artifact records (0: none)."),
) -> None:
    """Train the relation model from gold and write its artifact (weights, settings,
    data hash and cross-validated scores)."""
    from allegiance.eval.report import report_to_dict
    from allegiance.extract.model import MODEL_DIR
    from allegiance.learn.cv import train_artifact

    gold_paths, paths = _split_gold(gold, paths)
    corpus = _load_corpus(gold_paths, paths)
    target = out or MODEL_DIR
    with _progress() as progress:
        task = progress.add_task("training", total=(cv or 0) + 1)
        model, report = train_artifact(corpus, target, cv, on_step=lambda n: progress.update(task, completed=n))
    # plain lines: a hash or a path is never wrapped or styled
    print(f"model: {clean(target)}")
    print(f"trained on {model.meta['training']['documents']} documents, "
          f"{model.meta['training']['candidates']} candidates, {model.meta['training']['features']} features; "
          f"data sha256 {model.meta['data_sha256'][:16]}")
    if report is not None:
        d = report_to_dict(report)
        print(f"cross-validated ({cv} folds): P {d['overall']['precision']:.3f} R {d['overall']['recall']:.3f} "
              f"F1 {d['overall']['f1']:.3f}; organizational ties F1 {d['organizational_ties']['f1']:.3f}; "
              f"ORG recall {d['entities']['ORG']['recall']:.3f}; alias splits {d['alias_splits']}")


# -- demo ---------------------------------------------------------------------------------
def example_corpus() -> Path:
    import allegiance

    return Path(allegiance.__file__).resolve().parents[1] / "examples" / "corpus"


@app.command()
@_guarded
def demo(db: str = DbOption) -> None:
    """Ingest the bundled example corpus and show what it holds."""
    from allegiance.store import StoreError

    corpus = example_corpus()
    if not corpus.is_dir():
        raise StoreError(
            f"example corpus not found at {corpus} (the demo needs a source checkout with examples/corpus/)"
        )
    console = _out()
    with _open_store(db, read_only=False) as store:
        tally = _ingest(store, [str(corpus)])
        counts = store.counts()
        _print_summary(console, tally, counts, db)
        top = store.actors(limit=10)
        leaders = store.facts(relation="leader_of", limit=20)
        shifts = [f for rel in ALLEGIANCE_RELATIONS for f in store.facts(relation=rel)]
    shifts.sort(key=lambda f: (f.get("date") or "9999", f["doc_id"], f.get("start") or 0))
    console.print()
    if top:
        console.print(_actors_table(top, title="Top actors"))
    console.print()
    console.print(Text("Who leads whom", style="bold"))
    if not leaders:
        console.print(_t("  (no leadership facts)"))
    for f in leaders:
        console.print(_fact_line(f, f["subject"], f["object"]), soft_wrap=True)
    console.print()
    console.print(Text("Allegiance, defection, mergers", style="bold"))
    if not shifts:
        console.print(_t("  (no allegiance facts)"))
    for f in shifts[:30]:
        line = _fact_line(f, f["subject"], f["object"])
        line.append(f"  {f['relation']}", style="magenta")
        console.print(line, soft_wrap=True)
        console.print(_evidence_line(f["evidence"]), soft_wrap=True)
    db_opt = "" if str(db) == DEFAULT_DB else f" --db {db}"
    example = top[0]["name"] if top else "AQIM"
    console.print()
    console.print(Text("Next, try:", style="bold"))
    for cmd in (
        f"allegiance show AQIM{db_opt}",
        f"allegiance show {json.dumps(example) if ' ' in example else example}{db_opt}",
        f"allegiance actors --type PERSON{db_opt}",
        f"allegiance facts --relation pledged_allegiance_to{db_opt}",
        f"allegiance facts --actor AQIM --since 2013 --format csv{db_opt}",
    ):
        console.print(_t(f"  {cmd}"), soft_wrap=True)


def run() -> None:  # pragma: no cover - console entry helper
    app(prog_name="allegiance")


# -- corrections (issue 10 item 2; store/corrections.py) -----------------------------------
ReviewerOption = typer.Option(
    None, "--user", envvar="ALLEGIANCE_USER",
    help="Reviewer's name stored in the audit. Default: $ALLEGIANCE_USER, else the OS user.")


def _correct(db: str, method: str, *args: Any, **kwargs: Any) -> dict:
    from allegiance.store import StoreError
    from allegiance.store.corrections import CorrectionError

    with _open_store(db, read_only=False) as store:
        try:
            return getattr(store, method)(*args, **kwargs)
        except CorrectionError as exc:
            raise StoreError(str(exc)) from None


@app.command("merge")
@_guarded
def merge_cmd(
    actor: str = typer.Argument(..., help="The actor to merge away (id, name or alias)."),
    into: str = typer.Argument(..., help="The actor it becomes (keeps its id and name)."),
    db: str = DbOption,
    user: Optional[str] = ReviewerOption,
) -> None:
    """Merge two actors: every fact, alias and mention of the first moves to the second.

    Kept through later ingests and new extractor versions; `allegiance unmerge` undoes it."""
    r = _correct(db, "merge_actors", actor, into, user=user)
    _line(f"merged {r['from']} into {r['into']} ({r['name']}); undo: allegiance unmerge {r['from']}")


@app.command("unmerge")
@_guarded
def unmerge_cmd(
    actor: str = typer.Argument(..., help="The merged-away actor (its old id or name) or the merge id."),
    db: str = DbOption,
    user: Optional[str] = ReviewerOption,
) -> None:
    """Undo a merge: the merged-away actor comes back with its own facts, aliases and mentions."""
    r = _correct(db, "unmerge", actor, user=user)
    _line(f"restored {r['restored']} ({r['name']}) from {r['from']}")


@app.command("split-alias")
@_guarded
def split_alias_cmd(
    actor: str = typer.Argument(..., help="The actor (id, name or alias)."),
    alias: str = typer.Argument(..., help="The alias that is someone else."),
    db: str = DbOption,
    user: Optional[str] = ReviewerOption,
) -> None:
    """Split an alias off an actor into an actor of its own (with the mentions, and the
    entities documents named so, and their facts)."""
    r = _correct(db, "split_alias", actor, alias, user=user)
    _line(f"split {r['alias']!r} off {r['actor']} into {r['new_id']}")


@app.command("unsplit")
@_guarded
def unsplit_cmd(
    split: str = typer.Argument(..., help="The split-off alias, its actor id, or the split id."),
    db: str = DbOption,
    user: Optional[str] = ReviewerOption,
) -> None:
    """Undo an alias split: the alias goes back to the actor it was split off."""
    r = _correct(db, "unsplit", split, user=user)
    _line(f"alias split undone: back on {r['actor']}")


@app.command("review")
@_guarded
def review_cmd(
    fact: str = typer.Argument(..., help="The fact id (as `allegiance facts --format json` lists it)."),
    confirm: bool = typer.Option(False, "--confirm", help="The fact is right."),
    reject: bool = typer.Option(False, "--reject", help="The fact is wrong (hidden, kept for audit)."),
    subject: Optional[str] = typer.Option(None, "--subject", help="Correct the subject (an actor name or id)."),
    object: Optional[str] = typer.Option(None, "--object", help="Correct the object (an actor name or id)."),
    relation: Optional[str] = typer.Option(None, "--relation", help=f"Correct the relation: {', '.join(RELATIONS)}."),
    note: Optional[str] = typer.Option(None, "--note", help="Why (stored with the review)."),
    db: str = DbOption,
    user: Optional[str] = ReviewerOption,
) -> None:
    """Confirm, reject or correct one fact (kept through re-ingests)."""
    correcting = bool(subject or object or relation)
    if sum([confirm, reject, correcting]) != 1:
        raise typer.BadParameter("give one of --confirm, --reject, or corrections (--subject/--object/--relation)")
    _check_relation(relation)
    action = "confirm" if confirm else "reject" if reject else "correct"
    r = _correct(db, "review_fact", fact, action, user=user, relation=relation, subject=subject, object=object, note=note)
    _line(f"{action}ed {fact}" if action != "correct" else
          f"corrected {fact}: " + ", ".join(f"{k}={r[k]}" for k in ("subject", "relation", "object") if r.get(k)))


@app.command("audit")
@_guarded
def audit_cmd(
    db: str = DbOption,
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Every correction: when, who, what, before and after."""
    with _open_store(db, read_only=True) as store:
        rows = store.audit()
    if format.lower() == "json":
        sys.stdout.write(json_text(json.dumps(rows, ensure_ascii=False, indent=2, default=str)) + "\n")
        return
    console = _out()
    if not rows:
        console.print(_t("no corrections"))
        return
    table = Table(show_lines=False)
    for col in ("at", "user", "action", "target", "before", "after"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(_t(r[c] if isinstance(r[c], str) else json.dumps(r[c], ensure_ascii=False))
                        for c in ("at", "user", "action", "target", "before", "after")))
    console.print(table)


# -- serve --------------------------------------------------------------------------------
@app.command()
@_guarded
def serve(
    db: str = DbOption,
    port: int = typer.Option(8000, "--port", help="TCP port.", show_default=True),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Interface to bind (default: this machine only).", show_default=True
    ),
    read_only: bool = typer.Option(False, "--read-only", help="Open the store read-only (no reviews)."),
    reviewer: Optional[str] = typer.Option(
        None, "--reviewer", envvar="ALLEGIANCE_USER",
        help="Name the web's reviews and corrections are audited under. Default: $ALLEGIANCE_USER, else the OS user."),
    allow_host: Optional[list[str]] = typer.Option(
        None, "--allow-host",
        help="Another name this server answers to in the Host header (besides 127.0.0.1, localhost "
        "and --host); repeatable. Other names get 400 (DNS rebinding).",
    ),
) -> None:
    """Run the analyst web app (network, actors, documents, map; JSON API under /api/)."""
    import uvicorn

    from allegiance.store import StoreError
    from allegiance.web.app import create_app

    if not Path(db).exists():
        raise StoreError(f"no store at {db}: run `allegiance ingest` first")
    # the Host allow-list follows --host: a rebinding page's own name is refused
    web = create_app(db, read_only=read_only, allowed_hosts=(host, *(allow_host or [])), reviewer=reviewer)
    if host not in ("127.0.0.1", "localhost", "::1"):
        _line(f"warning: serving on {host}: anyone who can reach this address can read and review the store")
    if host in ("0.0.0.0", "::", ""):
        _line("note: only requests naming " + ", ".join(sorted(web.state.allowed_hosts))
              + " in their Host header are answered; add the names clients use with --allow-host")
    _line(f"Allegiance web app on http://{'[' + host + ']' if ':' in host else host}:{port}/ (API docs at /docs)")
    uvicorn.run(web, host=host, port=port, log_level="warning")


# -- export / import ----------------------------------------------------------------------
EXPORT_UNITS = {
    "graphml": "edges", "gexf": "edges", "stix": "STIX objects", "events-csv": "events",
    "facts-csv": "facts", "incidents-csv": "incidents", "cypher": "statements", "jsonl": "records",
}


@app.command("export")
@_guarded
def export_cmd(
    format: str = typer.Argument(..., help=f"One of: {', '.join(EXPORT_UNITS)}."),
    db: str = DbOption,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here (default: stdout)."),
    since: Optional[str] = typer.Option(None, "--since", help="YYYY, YYYY-MM or YYYY-MM-DD."),
    until: Optional[str] = typer.Option(None, "--until", help="YYYY, YYYY-MM or YYYY-MM-DD."),
    actor: Optional[list[str]] = typer.Option(
        None, "--actor", "-a", help="Facts with this actor at either end (id, name or alias); repeatable."
    ),
    include_hedged: bool = typer.Option(
        True, "--include-hedged/--no-hedged", help="Keep or leave out hedged facts."
    ),
) -> None:
    """Export the graph for Gephi (graphml, gexf), STIX 2.1, spreadsheets (events-csv,
    facts-csv, incidents-csv: ACLED-style, one row per incident), Neo4j (cypher) or as a lossless dump (jsonl, see `allegiance import`)."""
    import tempfile

    from allegiance.export import FORMATS, export

    fmt = format.lower()
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of: {', '.join(FORMATS)}", param_hint="FORMAT")
    _check_date(since, "--since")
    _check_date(until, "--until")
    with _open_store(db, read_only=True) as store:
        kwargs = dict(since=since, until=until, actors=actor or [], include_hedged=include_hedged)
        if output is None or str(output) == "-":
            output = None
            n = export(store, fmt, sys.stdout, **kwargs)
            sys.stdout.flush()
        else:
            target = Path(output)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent or Path(".")))
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                    n = export(store, fmt, fh, **kwargs)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    _line(f"exported {n} {EXPORT_UNITS[fmt]} ({fmt}) to {output if output else 'stdout'}")


@app.command("import")
@_guarded
def import_cmd(
    file: str = typer.Argument(..., help="JSON Lines from `allegiance export jsonl` ('-' for stdin)."),
    db: str = DbOption,
) -> None:
    """Load a JSON Lines export into a store (documents already there are skipped)."""
    from allegiance.export.jsonl import import_file

    with _open_store(db, read_only=False) as store:
        result = import_file(store, file, sys.stdin if file == "-" else None)
        counts = store.counts()
    added = result.added
    console = _out()
    console.print(
        _t(
            f"imported: {added['document']} documents, {added['actor']} actors, {added['alias']} aliases, "
            f"{added['mention']} mentions, {added['fact']} facts, {added['attack_mention']} attack reports, "
            f"{added['review']} reviews, {added['incident_edit']} incident edits; "
            f"{result.skipped_documents} documents already in the store"
        ),
        soft_wrap=True,
    )
    console.print(
        _t(
            f"store {db}: {counts['documents']} documents, {counts['actors']} actors, "
            f"{counts['aliases']} aliases, {counts['mentions']} mentions, {counts['facts']} facts"
        ),
        soft_wrap=True,
    )


# -- load (Parquet from `allegiance.scale.spark.run_spark_ingest`) ------------------------
@app.command("load")
@_guarded
def load_cmd(
    parquet_dir: Path = typer.Argument(..., help="Parquet folder written by the Spark ingest (documents/ entities/ ...)."),
    db: str = DbOption,
) -> None:
    """Store extractions from a Parquet folder (Spark output) in ingest order, resolving
    actors across documents exactly as `allegiance ingest` does."""
    from allegiance.scale.parquet import load_parquet
    from allegiance.store import StoreError

    if not (parquet_dir / "documents").is_dir():
        raise StoreError(f"{parquet_dir}: not an allegiance Parquet folder (no documents/ inside)")

    def report(item, result) -> None:
        if result is None:
            _line(f"error: {item.source}: {item.message}")

    with _open_store(db, read_only=False) as store:
        total = load_parquet(parquet_dir, store, on_item=report)
        _print_summary(_out(), total, store.counts(), db)
    if total["failed"]:
        raise typer.Exit(1)
