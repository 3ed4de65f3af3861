"""Fetching web pages (http/https URLs) into Documents.

A fetched page goes through the same bytes -> Document path as a file (``reader``): the
same decoding, binary checks and HTML extraction. What is added here is the network
side: timeouts and one deadline for the whole fetch, a response size limit applied to
every layer of Content-Encoding (``compression``), a polite User-Agent, at most a few
redirects, and refusal of private/loopback/reserved addresses (opened by
``allow_private``) and of link-local and cloud metadata addresses (opened only by
``allow_link_local``; the list is ``allegiance/data/fetch.json``).

The address check happens when a connection is opened (a custom httpcore network
backend): the host is resolved, *every* address is checked with ``ipaddress``, and the
connection goes to a checked address, so a redirect to another host is checked again and
a DNS answer cannot change between the check and the connection. The same backend
bounds every socket operation of a fetch (resolving, connecting, TLS, each read and
write) by what is left of its deadline, so a server that trickles header bytes cannot
hold a fetch past it.

Options for a batch are set with ``fetching(FetchOptions(...))``; the pipeline's
``iter_documents`` then fetches every ``http(s)://`` argument with them (the pipeline
takes the batch's fetcher once, in the caller's thread, and passes it down)."""
from __future__ import annotations

import functools
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from urllib.parse import urlsplit

import httpcore
import httpx

from allegiance.ingest.compression import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    ContentDecodingError,
    decode_stream,
    parse_encodings,
)
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
    allow_private: bool = False               # private, loopback, reserved addresses
    allow_link_local: bool = False            # link-local and cloud metadata addresses
    timeout: float = DEFAULT_TIMEOUT          # connect and read (each), seconds
    total_timeout: float | None = None        # whole fetch; default max(60, 3 * timeout)
    max_bytes: int = DEFAULT_MAX_FETCH_BYTES  # raw body, and the output of each decoding layer
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
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@functools.lru_cache(maxsize=1)
def _special_addresses() -> tuple[tuple, dict]:
    """(link-local networks, {metadata address: what serves there}) from fetch.json."""
    data = json.loads(resources.files("allegiance.data").joinpath("fetch.json").read_text("utf-8"))
    networks = tuple(ipaddress.ip_network(n) for n in data["link_local"])
    metadata = {ipaddress.ip_address(a): what for a, what in data["metadata"].items()}
    return networks, metadata


def _parse(ip: str):
    try:
        return ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return None


def _embedded_ipv4(addr):
    """The IPv4 address an IPv6 address carries and would reach (mapped, 6to4, NAT64)."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        if addr in _NAT64:
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def link_local_refusal(ip: str) -> str | None:
    """Why ``ip`` may not be fetched without --allow-link-local (None when it may): a
    link-local or cloud metadata address. --allow-private does not open these: they are
    how a fetch from a cloud machine reaches its credentials."""
    addr = _parse(ip)
    if addr is None:
        return None
    networks, metadata = _special_addresses()
    forms = [a for a in (addr, _embedded_ipv4(addr)) if a is not None]
    for a in forms:
        if a in metadata:
            return f"refused cloud metadata address {a} (use --allow-link-local)"
    for a in forms:
        if any(a.version == n.version and a in n for n in networks):
            return f"refused link-local address {a} (use --allow-link-local)"
    return None


def address_refusal(ip: str) -> str | None:
    """Why ``ip`` may not be fetched without the --allow-* flags (None when it may)."""
    addr = _parse(ip)
    if addr is None:
        return f"refused unparseable address {ip}"
    reason = link_local_refusal(ip)
    if reason:
        return reason
    addr = _embedded_ipv4(addr) or addr
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


# -- one deadline for the whole fetch ---------------------------------------------------
@dataclass
class _Budget:
    """The deadline of the fetch running in this context (``Fetcher.fetch`` sets it)."""
    ends: float          # time.monotonic() value
    seconds: float
    bound: bool = False  # the deadline, not an operation's own timeout, now limits operations


_budget: ContextVar[_Budget | None] = ContextVar("allegiance_fetch_budget", default=None)


def _within_deadline(timeout: float | None, timeout_error: type[Exception]) -> float | None:
    """``timeout`` for the next socket operation, cut to what is left of the deadline."""
    budget = _budget.get()
    if budget is None:
        return timeout
    left = budget.ends - time.monotonic()
    if left <= 0:
        budget.bound = True
        raise timeout_error(f"deadline of {_secs(budget.seconds)} for the whole fetch passed")
    if timeout is None or left < timeout:
        budget.bound = True
        return left
    return timeout


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits no longer than the deadline allows
    (a connection kept alive serves the next fetch under that fetch's deadline)."""

    def __init__(self, stream: httpcore.NetworkStream):
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        t = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, t))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


def _resolve_within(host: str, port: int, timeout: float | None) -> list[str]:
    """``resolve`` that gives up after ``timeout`` (getaddrinfo itself cannot be
    interrupted: a slow lookup is left to finish in its thread)."""
    if _parse(host) is not None or timeout is None:
        return resolve(host, port)   # an address literal needs no lookup
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["addresses"] = resolve(host, port)
        except BaseException as exc:  # handed to the fetching thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="allegiance-resolve", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise httpcore.ConnectTimeout(f"resolving {host} took longer than {_secs(timeout)}")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["addresses"]  # type: ignore[return-value]


class _GuardedBackend(httpcore.SyncBackend):
    """Resolve, check every address, then connect to a checked one, within the deadline."""

    def __init__(self, allow_private: bool, allow_link_local: bool = False):
        super().__init__()
        self.allow_private = allow_private
        self.allow_link_local = allow_link_local

    def refusal(self, ip: str) -> str | None:
        # link-local and metadata addresses have their own flag: --allow-private, which a
        # user gives to reach an intranet, must not also open the cloud's credentials
        reason = link_local_refusal(ip)
        if reason:
            return None if self.allow_link_local else reason
        return None if self.allow_private else address_refusal(ip)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = _resolve_within(host, port, _within_deadline(timeout, httpcore.ConnectTimeout))
        for ip in addresses:
            reason = self.refusal(ip)
            if reason:
                raise RefusedAddress(reason)
        last: Exception | None = None
        for ip in addresses:
            try:
                stream = super().connect_tcp(
                    ip, port, _within_deadline(timeout, httpcore.ConnectTimeout), local_address, socket_options
                )
            except httpcore.ConnectTimeout:
                raise
            except (httpcore.ConnectError, OSError) as exc:
                last = exc
                continue
            return _DeadlineStream(stream)
        assert last is not None
        raise last


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded network backend (no proxies, no env config)."""

    def __init__(self, allow_private: bool, allow_link_local: bool = False):
        super().__init__(trust_env=False)
        ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(allow_private, allow_link_local),
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
                transport=_GuardedTransport(o.allow_private, o.allow_link_local),
                timeout=httpx.Timeout(o.timeout),
                follow_redirects=True,
                max_redirects=o.max_redirects,
                trust_env=False,
                headers={
                    "User-Agent": o.user_agent,
                    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
                    # only the codings decoded with a limit on every layer (httpx would
                    # offer br and zstd too whenever their libraries are installed)
                    "Accept-Encoding": ACCEPT_ENCODING,
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
        budget = _Budget(started + o.deadline, o.deadline)
        token = _budget.set(budget)
        try:
            with self.client.stream("GET", url) as resp:
                if resp.status_code >= 300 or resp.status_code < 200:
                    reason = f" {resp.reason_phrase}" if resp.reason_phrase else ""
                    raise FetchError(f"HTTP {resp.status_code}{reason}")
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > o.max_bytes:
                    raise FetchError(f"response too large: {_mb(int(declared))} > {_mb(o.max_bytes)} limit")
                # the raw body, decoded here rather than by httpx, whose decoders inflate
                # each layer whole before anything can count it
                encodings = parse_encodings(resp.headers.get_list("content-encoding"))
                chunks: list[bytes] = []
                for chunk in decode_stream(resp.iter_raw(), encodings, o.max_bytes):
                    if time.monotonic() > budget.ends:
                        raise FetchError(f"timed out after {_secs(o.deadline)} (whole fetch)")
                    chunks.append(chunk)
                ctype = resp.headers.get("content-type", "").split(";", 1)[0].strip().lower()
                return FetchedPage(url, str(resp.url), resp.status_code, ctype, b"".join(chunks))
        except FetchError:
            raise
        except BodyTooLarge as exc:
            raise FetchError(f"response too large: more than {_mb(o.max_bytes)} limit{exc.where}") from None
        except ContentDecodingError as exc:
            raise FetchError(str(exc)) from None
        except httpx.TimeoutException:
            if budget.bound:
                raise FetchError(f"timed out after {_secs(o.deadline)} (whole fetch)") from None
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
        finally:
            _budget.reset(token)

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
