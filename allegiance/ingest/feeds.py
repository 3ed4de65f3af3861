"""RSS and Atom feeds: each item's link is fetched and ingested once.

The feed itself is fetched with the same guarded client as any URL (or read from a local
file) and parsed with feedparser from bytes, so feedparser never opens a URL or a file
itself. Which items were already ingested is kept in the store, in ``feed_items``
(created here, ``CREATE TABLE IF NOT EXISTS``): re-running fetches only new items. An
item is recorded only once its page is stored, so an item whose fetch failed is tried
again on the next run."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urljoin

from allegiance.ingest.web import DEFAULT_MAX_FETCH_BYTES, Fetcher, FetchError, is_url
from allegiance.records import IngestError

FEED_ITEMS_DDL = (
    "CREATE TABLE IF NOT EXISTS feed_items ("
    "feed VARCHAR NOT NULL, "
    "item_id VARCHAR NOT NULL, "
    "url VARCHAR NOT NULL, "
    "fetched_at TIMESTAMP NOT NULL, "
    "PRIMARY KEY (feed, item_id))"
)


@dataclass
class FeedItem:
    feed: str
    item_id: str
    url: str
    title: str | None = None


@dataclass
class Feed:
    key: str                         # the feed URL, or the resolved path of a feed file
    title: str | None = None
    items: list[FeedItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def feed_key(spec: str) -> str:
    return spec if is_url(spec) else str(Path(spec).expanduser().resolve())


def _load(spec: str, fetcher: Fetcher, max_bytes: int) -> tuple[str, bytes, str | None]:
    """(key, bytes, base URL for relative links)."""
    key = feed_key(spec)
    if is_url(spec):
        page = fetcher.fetch(spec)
        return key, page.data, page.final_url
    path = Path(key)
    try:
        if path.is_dir():
            raise FetchError("is a directory, not a feed file")
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise FetchError("no such file or directory") from None
    except PermissionError:
        raise FetchError("cannot read: permission denied") from None
    except OSError as exc:
        raise FetchError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise FetchError(f"too large: more than {max_bytes / (1024 * 1024):g} MB limit")
    return key, data, None


def parse_feed(data: bytes, key: str, base: str | None = None) -> Feed:
    """Items of an RSS/Atom document (raises FetchError when it is not a feed)."""
    import feedparser

    headers = {"content-location": base} if base else {}
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
    entries = list(parsed.get("entries") or [])
    if not entries and (parsed.get("bozo") or not parsed.get("version")):
        exc = parsed.get("bozo_exception")
        detail = f": {' '.join(str(exc).split())[:160]}" if exc else ""
        raise FetchError(f"not an RSS or Atom feed{detail}")
    feed = Feed(key=key, title=(parsed.get("feed") or {}).get("title"))
    seen: set[str] = set()
    for n, entry in enumerate(entries, 1):
        link = (entry.get("link") or "").strip()
        if link and base:
            link = urljoin(base, link)
        if not link:
            feed.warnings.append(f"item {n} has no link: skipped")
            continue
        if not is_url(link):
            feed.warnings.append(f"item {n} link is not an http(s) URL: skipped ({link[:80]})")
            continue
        item_id = (entry.get("id") or "").strip() or link
        if item_id in seen:
            continue
        seen.add(item_id)
        feed.items.append(FeedItem(key, item_id, link, (entry.get("title") or None)))
    return feed


def read_feed(spec: str, fetcher: Fetcher, *, max_bytes: int = DEFAULT_MAX_FETCH_BYTES) -> Feed | IngestError:
    """Fetch (or read) and parse one feed; an IngestError naming it on failure."""
    key = feed_key(spec)
    try:
        key, data, base = _load(spec, fetcher, max_bytes)
        return parse_feed(data, key, base)
    except FetchError as exc:
        return IngestError(key, str(exc))
    except Exception as exc:  # a broken feed never stops the run
        return IngestError(key, f"could not read feed: {type(exc).__name__}: {exc}")


class FeedState:
    """The ``feed_items`` table in the store's DuckDB connection."""

    def __init__(self, con):
        self.con = con
        con.execute(FEED_ITEMS_DDL)

    def seen_ids(self, feed: str) -> set[str]:
        rows = self.con.execute("SELECT item_id FROM feed_items WHERE feed = ?", [feed]).fetchall()
        return {r[0] for r in rows}

    def new_items(self, feed: Feed) -> list[FeedItem]:
        seen = self.seen_ids(feed.key)
        return [item for item in feed.items if item.item_id not in seen]

    def mark(self, item: FeedItem) -> None:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        self.con.execute(
            "INSERT INTO feed_items (feed, item_id, url, fetched_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (feed, item_id) DO UPDATE SET url = excluded.url, fetched_at = excluded.fetched_at",
            [item.feed, item.item_id, item.url, now],
        )
