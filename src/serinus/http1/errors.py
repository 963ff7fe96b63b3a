"""The lean client's exceptions and the words they carry (:mod:`serinus.http1`).

One root, :class:`HTTPError`: no answer, the subclass says why. The words a closed connection
and a failed connect read in are shared with :mod:`serinus.aiotransport`, which words aiohttp's
errors the same way, so a caller's log reads alike whichever client made the request.
"""

from __future__ import annotations

import os
import ssl


class HTTPError(Exception):
    """No answer (the subclass says why)."""


class ConnectError(HTTPError):
    """The connection could not be made; raised from the error the socket or TLS gave."""


class ConnectTimeout(HTTPError):
    """The connection was not made in time."""


class PoolTimeout(HTTPError):
    """No connection was free in time."""


class ReadTimeout(HTTPError):
    """The server stayed silent past the read timeout."""


class Disconnected(HTTPError):
    """The connection closed before the answer's end (or the answer was not HTTP)."""


SERVER_DISCONNECTED = "server disconnected"
CUT_SHORT = "the connection closed before the end of the answer's body"


def connect_words(host: str, port: int | None, error: BaseException) -> str:
    """How a failed connect reads (the words :mod:`serinus.aiotransport` uses for aiohttp's):
    the system's words for an errno (asyncio and uvloop word a refused connect differently),
    else the error's own."""
    detail = str(error)
    if isinstance(error, OSError) and not isinstance(error, ssl.SSLError):
        if isinstance(error.errno, int) and error.errno > 0:
            detail = os.strerror(error.errno)
        elif error.strerror:
            detail = error.strerror
    return f"cannot connect to {host}:{port}: {detail}"
