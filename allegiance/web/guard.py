"""What the web app refuses before any endpoint runs: foreign Host headers, writes from
another origin or without the server's CSRF token, and JSON bodies that are not strict JSON.

- Host allow-list. A DNS-rebinding page (``attacker.example`` re-pointed at 127.0.0.1) is
  same-origin with this server as far as the browser knows, so it could read the store and
  post reviews; only its Host header gives it away. Every request must name an allowed host
  (127.0.0.1, localhost, ::1 and what ``serve --host`` / ``--allow-host`` add), any port.
- Writes (POST, PUT, PATCH, DELETE) must come from this origin and carry the token.
  The Origin header (or, without it, the Referer) must name the very host and port the
  request was sent to: a page on another loopback port is another origin, though the same
  "site", so SameSite cookies would not stop it. ``Origin: null`` (sandboxed frames, file
  pages) and ``Sec-Fetch-Site: cross-site/same-site`` are refused. The token is random per
  server; the app's pages carry it in ``<meta name="csrf-token">`` and send it back in the
  ``X-CSRF-Token`` header, which a cross-site form cannot set and a cross-origin fetch can
  only set after a CORS preflight this server never grants. A client with neither Origin
  nor Referer (curl, scripts) is not a browser being abused, but still needs the token
  (``GET /api/csrf``), so a browser that leaves both headers out is still covered.
- Strict JSON. Python's ``json`` accepts ``NaN``, ``Infinity`` and ``1e999999`` (inf), and the
  validation error that echoed such a value back could not be encoded: a 500. Here those,
  duplicate keys, number literals over 100 characters and nesting deep enough to exhaust
  the recursion limit are a 422 that names the problem, never the input."""
from __future__ import annotations

import hmac
import json
import math
import secrets
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers

CSRF_HEADER = "X-CSRF-Token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_JSON_BYTES = 256 * 1024   # any JSON body; a review is well under 20 KB
MAX_NUMBER_CHARS = 100        # longer number literals are refused before int()/float() see them
_DEFAULT_PORT = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _norm_host(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


def allowed_host_names(*extra: str | None) -> frozenset[str]:
    """The loopback names plus each extra name (``--host``, ``--allow-host``), normalised."""
    names = {_norm_host(h) for h in LOOPBACK_HOSTS}
    names |= {_norm_host(h) for h in extra if h and h.strip()}
    return frozenset(names)


def split_host(value: str | None) -> tuple[str, int | None] | None:
    """``(name, port)`` of a Host header (``name``, ``name:port``, ``[v6]``, ``[v6]:port``);
    None when it is missing or malformed."""
    if not value or len(value) > 300 or any(c in value for c in " \t/\\@?#"):
        return None
    port_text = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1:]
        if rest:
            if not rest.startswith(":"):
                return None
            port_text = rest[1:]
    elif value.count(":") == 1:
        name, port_text = value.split(":")
    elif ":" in value:  # a bare IPv6 address is not a valid Host header
        return None
    else:
        name = value
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            return None
        port = int(port_text)
    name = _norm_host(name)
    return (name, port) if name else None


def _same_origin(url: str, host: tuple[str, int | None]) -> bool:
    """Whether ``url`` (an Origin or Referer value) names the host and port the request went to."""
    try:
        u = urlsplit(url)
        port = u.port
    except ValueError:
        return False
    if u.scheme not in ("http", "https") or not u.hostname:
        return False
    want_name, want_port = host
    default = _DEFAULT_PORT[u.scheme]
    return _norm_host(u.hostname) == want_name and (port or default) == (want_port or default)


def _plain(status: int, detail: str, scope, receive, send):
    response = JSONResponse({"detail": detail}, status_code=status,
                            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
    return response(scope, receive, send)


class RequestGuard:
    """ASGI middleware: the Host allow-list for every request; origin and token for writes.
    It answers before the body is read, so a refused upload is never received."""

    def __init__(self, app, *, allowed_hosts: Iterable[str], token: str):
        self.app = app
        self.allowed = frozenset(allowed_hosts)
        self.token = token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        host = split_host(headers.get("host"))
        if host is None or host[0] not in self.allowed:
            return await _plain(400, "this server does not answer to that Host header "
                                     "(allowed: " + ", ".join(sorted(self.allowed)) + "; see serve --host)",
                                scope, receive, send)
        if scope["type"] == "http" and scope["method"].upper() in UNSAFE_METHODS:
            refused = self._refuse_write(headers, host)
            if refused:
                return await _plain(403, refused, scope, receive, send)
        return await self.app(scope, receive, send)

    def _refuse_write(self, headers: Headers, host: tuple[str, int | None]) -> str | None:
        site = headers.get("sec-fetch-site", "").lower()
        if site in ("cross-site", "same-site"):
            return "cross-origin write refused"
        origin = headers.get("origin")
        if origin is not None:
            if not _same_origin(origin, host):
                return "cross-origin write refused"
        elif headers.get("referer") is not None and not _same_origin(headers["referer"], host):
            return "cross-origin write refused"
        given = headers.get(CSRF_HEADER, "").encode()
        if not given or not hmac.compare_digest(given, self.token):
            return (f"missing or wrong {CSRF_HEADER} header: the app's pages send it; "
                    "scripts get it from GET /api/csrf")
        return None


# -- strict JSON ---------------------------------------------------------------------------
class _Refused(ValueError):
    pass


def _constant(name: str):
    raise _Refused(f"{name} is not JSON")


def _number(kind: Callable[[str], Any]):
    def parse(text: str):
        if len(text) > MAX_NUMBER_CHARS:
            raise _Refused(f"a number longer than {MAX_NUMBER_CHARS} characters")
        value = kind(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise _Refused("a number out of range")
        return value
    return parse


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise _Refused("a duplicate key")
        out[key] = value
    return out


def strict_loads(body: bytes | str) -> Any:
    """``json.loads`` refusing NaN/Infinity, numbers that overflow or run past
    MAX_NUMBER_CHARS, duplicate keys, non-UTF-8 bytes and recursion-deep nesting. Every
    refusal is a ``json.JSONDecodeError`` (FastAPI turns it into a 422)."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from None
    else:
        text = body
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_number(float),
                          parse_int=_number(int), object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError:
        raise
    except _Refused as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError as exc:  # e.g. int() digit limits
        raise json.JSONDecodeError(f"an unreadable value ({type(exc).__name__})", text, 0) from None


class StrictJSONRequest(Request):
    """A request whose ``body()`` stops with 413 past MAX_JSON_BYTES (Content-Length first,
    then counted while streaming) and whose ``json()`` is ``strict_loads``. FastAPI reads
    every JSON (or unparsed) body through these two; an endpoint that takes larger bodies
    reads ``request.stream()`` itself (``/api/ingest``)."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            too_big = HTTPException(413, f"the body is larger than the {MAX_JSON_BYTES // 1024} KB limit")
            declared = self.headers.get("content-length", "")
            if declared.strip().isdigit() and int(declared) > MAX_JSON_BYTES:
                raise too_big
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > MAX_JSON_BYTES:
                    raise too_big
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """Every JSON body of the app's routes goes through ``strict_loads`` (FastAPI reads
    bodies with ``request.json()``, which this swaps)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def strict_handler(request: Request):
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler


def _short(value: Any, n: int) -> str:
    text = str(value)
    return text if len(text) <= n else text[: n - 1] + "…"


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field and what is wrong with it, never its value: FastAPI's own
    answer carries the whole input (a 20 MB body came back in full) and fails with a 500
    when the input holds a float JSON cannot encode."""
    errors = exc.errors()
    items = []
    for e in errors[:10]:
        loc = [_short(x, 40) if isinstance(x, str) else x for x in e.get("loc", ())]
        loc = [x if isinstance(x, (str, int)) else _short(x, 40) for x in loc]
        msg = str(e.get("msg") or "invalid")
        if e.get("type") == "json_invalid":  # FastAPI's loc is ("body", offset): the offset says nothing
            loc = ["body"]
            reason = (e.get("ctx") or {}).get("error")
            msg = f"invalid JSON: {reason}" if reason else "invalid JSON"
        items.append({"loc": loc, "msg": _short(msg, 200), "type": _short(e.get("type", ""), 40)})
    detail = "; ".join(".".join(str(x) for x in i["loc"]) + ": " + i["msg"] for i in items)
    if len(errors) > len(items):
        detail += f"; and {len(errors) - len(items)} more"
    return JSONResponse(status_code=422, content=jsonable_encoder({"detail": detail, "errors": items}))
