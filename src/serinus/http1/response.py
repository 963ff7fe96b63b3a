"""An answer of the lean client (:mod:`serinus.http1`), read whole.

The connection's parser hands over the status, the reason, the raw header pairs and the whole
body; nothing more is made per answer. The case-insensitive header view is built only when a
caller asks for it, and :func:`content_encoding` reads the one header the hot paths need from
the raw pairs without it.
"""

from __future__ import annotations

import multidict


class Response:
    """An answer, read whole."""

    __slots__ = ("_headers", "body", "keep_alive", "raw_headers", "reason", "status")

    def __init__(self, status: int, reason: str, raw: list[tuple[bytes, bytes]], body: bytes):
        self.status = status
        self.reason = reason
        self.raw_headers = raw
        self.body = body
        self.keep_alive = False
        self._headers: multidict.CIMultiDictProxy[str] | None = None

    @property
    def headers(self) -> multidict.CIMultiDictProxy[str]:
        """Case-insensitive, every value of a repeated header kept (made on first use)."""
        if self._headers is None:
            pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers]
            self._headers = multidict.CIMultiDictProxy(multidict.CIMultiDict(pairs))
        return self._headers

    async def read(self) -> bytes:
        """The body (read already)."""
        return self.body

    def release(self) -> None:
        """Nothing to give back: the connection went back to its pool with the answer's end."""


def content_encoding(response: Response) -> str | None:
    """The answer's ``Content-Encoding``, lowercased; None when it has none."""
    for name, value in response.raw_headers:
        if len(name) == 16 and name.lower() == b"content-encoding":
            return value.decode("latin-1").strip().lower()
    return None
