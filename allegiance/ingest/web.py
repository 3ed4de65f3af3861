"""Fetching web pages (http/https URLs) into Documents.

A fetched page goes through the same bytes -> Document path as a file (``reader``): the
same decoding, binary checks and HTML extraction. What is added here is the network
side: timeouts, a response size limit, a polite User-Agent, at most a few redirects, and
refusal of private/loopback/link-local/reserved addresses.

The address check happens when a connection is opened (a custom httpcore network
backend): the host is resolved, *every* address is checked with ``ipaddress``, and the
connection goes to a checked address, so a redirect to another host is checked again and
a DNS answer cannot change between the check and the connection.

Options for a batch are set with ``fetching(FetchOptions(...))``; the pipeline's
``iter_documents`` then fetches every ``http(s)://`` argument with them."""
from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpcore
import httpx

from allegiance.records import Document, IngestError

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_FETCH_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_REDIRECTS = 5
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def user_agent() -> str:
    from allegiance import __version__

    return f"Allegiance/{__version__} (+https://github.com/allegiance)"


def is_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def _secs(value: float) -> str:
    return f"{value:g} s"


def _mb(n: float) -> str:
    return f"{n / (1024 * 1024):g} MB"


class FetchError(Exception):
    """A URL that could not be fetched: the message is one line for the user."""


class RefusedAddress(FetchError):
    pass


@dataclass(frozen=True)
class FetchOptions:
    allow_private: bool = False
    timeout: float = DEFAULT_TIMEOUT          # connect and read (each), seconds
    total_timeout: float | None = None        # whole fetch; default max(60, 3 * timeout)
    max_bytes: int = DEFAULT_MAX_FETCH_BYTES  # decoded body
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    user_agent: str = field(default_factory=user_agent)

    @property
    def deadline(self) -> float:
        return self.total_timeout if self.total_timeout is not None else max(60.0, 3 * self.timeout)


@dataclass
class FetchedPage:
    url: str                 # as requested
    final_url: str           # after redirects
    status: int
    content_type: str        # media type only, lower case ("" when the server sent none)
    data: bytes


# -- address policy --------------------------------------------------------------------
def address_refusal(ip: str) -> str | None:
    """Why ``ip`` may not be fetched without --allow-private (None when it may)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return f"refused unparseable address {ip}"
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped or addr.sixtofour
        if mapped is not None:
            addr = mapped
    if (
        addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved
        or addr.is_multicast or addr.is_unspecified or not addr.is_global
    ):
        return f"refused private address {addr} (use --allow-private)"
    return None


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve host {host}: {exc.strerror or exc}") from None
    except UnicodeError:
        raise FetchError(f"cannot resolve host {host}: invalid host name") from None
    out: list[str] = []
    for info in infos:
        ip = info[4][0]
        if ip not in out:
            out.append(ip)
    if not out:
        raise FetchError(f"cannot resolve host {host}")
    return out


class _GuardedBackend(httpcore.SyncBackend):
    """Resolve, check every address, then connect to a checked one."""

    def __init__(self, allow_private: bool):
        super().__init__()
        self.allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = resolve(host, port)
        if not self.allow_private:
            for ip in addresses:
                reason = address_refusal(ip)
                if reason:
                    raise RefusedAddress(reason)
        last: Exception | None = None
        for ip in addresses:
            try:
                return super().connect_tcp(ip, port, timeout, local_address, socket_options)
            except httpcore.ConnectTimeout:
                raise
            except (httpcore.ConnectError, OSError) as exc:
                last = exc
        assert last is not None
        raise last


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded network backend (no proxies, no env config)."""

    def __init__(self, allow_private: bool):
        super().__init__(trust_env=False)
        ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(allow_private),
        )


# -- fetching --------------------------------------------------------------------------
class Fetcher:
    """One HTTP client for a batch of URLs (connections are reused)."""

    def __init__(self, options: FetchOptions | None = None):
        self.options = options or FetchOptions()
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            o = self.options
            self._client = httpx.Client(
                transport=_GuardedTransport(o.allow_private),
                timeout=httpx.Timeout(o.timeout),
                follow_redirects=True,
                max_redirects=o.max_redirects,
                trust_env=False,
                headers={
                    "User-Agent": o.user_agent,
                    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
                },
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, url: str) -> FetchedPage:
        """GET ``url``; raise FetchError with a one-line reason on any failure."""
        o = self.options
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise FetchError("not an http(s) URL")
        started = time.monotonic()
        try:
            with self.client.stream("GET", url) as resp:
                if resp.status_code >= 300 or resp.status_code < 200:
                    reason = f" {resp.reason_phrase}" if resp.reason_phrase else ""
                    raise FetchError(f"HTTP {resp.status_code}{reason}")
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > o.max_bytes:
                    raise FetchError(f"response too large: {_mb(int(declared))} > {_mb(o.max_bytes)} limit")
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > o.max_bytes:
                        raise FetchError(f"response too large: more than {_mb(o.max_bytes)} limit")
                    if time.monotonic() - started > o.deadline:
                        raise FetchError(f"timed out after {_secs(o.deadline)} (whole download)")
                    chunks.append(chunk)
                ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                return FetchedPage(url, str(resp.url), resp.status_code, ctype, b"".join(chunks))
        except FetchError:
            raise
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {_secs(o.timeout)}") from None
        except httpx.TooManyRedirects:
            raise FetchError(f"too many redirects (more than {o.max_redirects})") from None
        except httpx.UnsupportedProtocol as exc:
            raise FetchError(f"redirected to an unsupported URL ({exc})") from None
        except httpx.ConnectError as exc:
            raise FetchError(f"cannot connect: {_reason(exc)}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {_reason(exc)}") from None
        except OSError as exc:
            raise FetchError(f"cannot connect: {exc.strerror or exc}") from None

    def fetch_document(self, url: str) -> Document | IngestError:
        """Fetch ``url`` and read it like a file: doc_id and source are the URL."""
        from allegiance.ingest.reader import RejectedInput, _document_from_bytes

        try:
            page = self.fetch(url)
        except FetchError as exc:
            return IngestError(url, str(exc))
        except Exception as exc:  # one odd URL never stops the batch
            return IngestError(url, f"could not fetch: {type(exc).__name__}: {exc}")
        ctype = page.content_type
        if ctype and ctype not in HTML_TYPES and ctype != "application/octet-stream" and not ctype.startswith("text/"):
            return IngestError(url, f"unsupported content type {page.content_type}")
        if not page.data:
            return IngestError(url, "empty response")
        try:
            doc = _document_from_bytes(page.data, url, url, force_html=page.content_type in HTML_TYPES)
        except RejectedInput as exc:
            return IngestError(url, str(exc))
        except Exception as exc:
            return IngestError(url, f"could not read: {type(exc).__name__}: {exc}")
        if page.final_url != url:
            doc.warnings.append(f"redirected to {page.final_url}")
        return doc


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    low = text.lower()
    if "connection refused" in low or "errno 111" in low:
        return "connection refused"
    return text.splitlines()[-1] if text else type(exc).__name__


# -- batch context ---------------------------------------------------------------------
_current: ContextVar[Fetcher | None] = ContextVar("allegiance_fetcher", default=None)


@contextmanager
def fetching(options: FetchOptions | None = None) -> Iterator[Fetcher]:
    """Within this block, URLs given to ``iter_documents`` are fetched with ``options``."""
    fetcher = Fetcher(options)
    token = _current.set(fetcher)
    try:
        yield fetcher
    finally:
        _current.reset(token)
        fetcher.close()


def current_fetcher() -> Fetcher | None:
    return _current.get()


def fetch_document(url: str) -> Document | IngestError:
    """Fetch one URL with the batch's options (or the defaults outside ``fetching``)."""
    fetcher = _current.get()
    if fetcher is not None:
        return fetcher.fetch_document(url)
    with Fetcher() as f:
        return f.fetch_document(url)


def read_url_list(path: str) -> tuple[list[str], list[IngestError]]:
    """URLs from a file, one a line; blank lines and ``#`` comments skipped."""
    urls: list[str] = []
    errors: list[IngestError] = []
    try:
        with open(path, "rb") as fh:
            data = fh.read(DEFAULT_MAX_FETCH_BYTES + 1)
    except OSError as exc:
        return [], [IngestError(path, f"cannot read URL list: {exc.strerror or exc}")]
    text = data.decode("utf-8", errors="replace")
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not is_url(line):
            errors.append(IngestError(f"{path}:{n}", f"not an http(s) URL: {line[:80]}"))
            continue
        urls.append(line)
    return urls, errors
