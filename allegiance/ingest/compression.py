"""Content-Encoding of fetched bodies, decoded as a stream with a byte limit on every layer.

Deflate expands data by up to about a thousand times, and codings stack: 7 KB sent as
``Content-Encoding: gzip, gzip`` holds 8 GB. Decoding one layer whole before checking
its size (what a client's ordinary decoder does) therefore needs the memory of the whole
expansion. Here each layer hands out its output in pieces of at most ``CHUNK`` bytes,
pulled by the next layer only when it needs more, and the output of every layer (and
the raw body) is counted against the limit: decoding stops as soon as any layer has
produced more than the limit, with a few pieces in memory at a time.

Only codings decoded this way are offered (``ACCEPT_ENCODING``); a response in any other
coding is refused rather than stored undecoded."""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

CHUNK = 64 * 1024
# A well-behaved server applies one coding; two is already odd. More layers only serve
# to multiply the expansion (each layer is bounded, but each costs a decoder).
MAX_LAYERS = 4
ACCEPT_ENCODING = "gzip, deflate"
_NAMES = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}


class ContentDecodingError(ValueError):
    """A body that cannot be decoded; the message is one line for the user."""


class BodyTooLarge(ContentDecodingError):
    def __init__(self, where: str = ""):
        super().__init__(f"response too large{where}")
        self.where = where   # "" for the raw body, else which layer went over


def parse_encodings(values: Iterable[str]) -> list[str]:
    """The codings named by Content-Encoding header values, in the order the server
    applied them ("identity" dropped); raises ContentDecodingError for one not decoded here."""
    names: list[str] = []
    for value in values:
        for token in value.split(","):
            token = token.strip().lower()
            if token in ("", "identity"):
                continue
            if token not in _NAMES:
                raise ContentDecodingError(f"unsupported content encoding {token[:40]}")
            names.append(_NAMES[token])
    if len(names) > MAX_LAYERS:
        raise ContentDecodingError(f"too many content encodings: {len(names)} (at most {MAX_LAYERS})")
    return names


def decode_stream(chunks: Iterable[bytes], encodings: list[str], limit: int) -> Iterator[bytes]:
    """The decoded body, in pieces, from the raw body's ``chunks`` and the codings applied
    (``parse_encodings``). Raises BodyTooLarge as soon as the raw body, or the output of
    any layer, exceeds ``limit`` bytes."""
    stream = _limited(chunks, limit, "")
    # the last coding listed was applied last, so it is undone first
    for n, name in enumerate(reversed(encodings), 1):
        stream = _limited(_Inflater(name).run(stream), limit, f" after {name} decoding (layer {n} of {len(encodings)})")
    return stream


def _limited(pieces: Iterable[bytes], limit: int, where: str) -> Iterator[bytes]:
    size = 0
    for piece in pieces:
        size += len(piece)
        if size > limit:
            raise BodyTooLarge(where)
        yield piece


class _Inflater:
    """One gzip or deflate layer whose output comes out at most CHUNK bytes at a time."""

    def __init__(self, name: str):
        self.name = name
        self._gzip = name == "gzip"
        self._d = self._new()
        self._fresh = True   # nothing decoded yet: "deflate" may still turn out to be raw
        self._done = False

    def _new(self, raw: bool = False):
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate
        return zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)

    def _decompress(self, data: bytes) -> bytes:
        try:
            out = self._d.decompress(data, CHUNK)
        except zlib.error as exc:
            if self._fresh and not self._gzip:
                self._d = self._new(raw=True)
                self._fresh = False
                return self._decompress(data)
            raise ContentDecodingError(f"corrupt {self.name} data: {exc}") from None
        self._fresh = False
        return out

    def run(self, source: Iterable[bytes]) -> Iterator[bytes]:
        for data in source:
            if data and not self._done:
                yield from self._feed(data)
        if not self._done:
            try:
                tail = self._d.flush()
            except zlib.error as exc:
                raise ContentDecodingError(f"corrupt {self.name} data: {exc}") from None
            # everything was drained in _feed, so this is at most a few bytes; a body cut
            # short ends here without its trailer and is kept as far as it goes
            if tail:
                yield tail

    def _feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            out = self._decompress(data)
            if out:
                yield out
            data = self._d.unconsumed_tail
            if self._d.eof:
                rest = self._d.unused_data
                if self._gzip and rest.strip(b"\0"):
                    # another gzip member follows (concatenated gzip is one body)
                    self._d = self._new()
                    data = rest
                    continue
                self._done = True   # trailing bytes (or zero padding) after the end: ignored
                return
            # a full piece may leave output inside zlib even when the input is used up
            if not data and len(out) < CHUNK:
                return
