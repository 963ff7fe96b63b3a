"""A lean HTTP/1.1 keep-alive client for the operator's two hot exchanges, on asyncio Protocols.

Every progressing tick writes to the Kubernetes API (:mod:`serinus.kube.wire`) and queries
Prometheus (:func:`serinus.outbound.get`), one small request and one small answer each time, to
the same one or two origins. aiohttp's client spent more CPU on each of those than the bytes on
the wire: its per-request objects (request and response, timers, trace hooks, header multidicts,
auto headers, cookie jar, the body stream) cost ~175 µs a Kubernetes write and ~200 µs a
Prometheus query. Here a request is its bytes, built by the caller once per route and written in
one call; the answer is parsed by httptools (llhttp, C) straight into a :class:`Response` with the
whole body; nothing else is made per request (numbers: ``pyproject.toml``'s comment).

What it does: a pool of keep-alive connections per origin (scheme, host, port), at most ``limit``
in use at once (a request waits for one up to its pool timeout); TLS through the caller's context
(client certificates included); bodies by ``Content-Length``, chunked or until the close; connect,
pool and read timeouts (the read timeout bounds the silence before and between reads, as
aiohttp's ``sock_read``); an idle connection is dropped after :data:`KEEPALIVE` seconds unused
(less than servers keep theirs, so a request rarely races a server's idle close). A connection
found closed when a request is about to be written on it is replaced, once; a request that was
written is never sent again (a POST is not repeated). Answers are not redirected or decoded:
callers undo ``Content-Encoding`` themselves. No HEAD (its answer's length would be taken for a
body to wait for), no ``Expect: 100-continue``, no upgrades. Streams (watches) and everything
else stay on aiohttp.

Errors: :class:`ConnectError` (raised from the OSError, DNS or certificate error),
:class:`ConnectTimeout`, :class:`PoolTimeout`, :class:`ReadTimeout`, :class:`Disconnected` (the
connection closed before the answer's end, or the answer is not HTTP).

Module map: ``pool`` (the origins' keep-alive connections and a request's way through them),
``connection`` (one connection's Protocol: writes a request, parses its answer), ``response``
(the answer read whole), ``errors`` (the exceptions and their words). Callers use the names
re-exported here.
"""

from serinus.http1.errors import (
    CUT_SHORT,
    SERVER_DISCONNECTED,
    ConnectError,
    ConnectTimeout,
    Disconnected,
    HTTPError,
    PoolTimeout,
    ReadTimeout,
    connect_words,
)
from serinus.http1.pool import KEEPALIVE, Origin, Pool
from serinus.http1.response import Response, content_encoding

__all__ = [
    "CUT_SHORT",
    "KEEPALIVE",
    "SERVER_DISCONNECTED",
    "ConnectError",
    "ConnectTimeout",
    "Disconnected",
    "HTTPError",
    "Origin",
    "Pool",
    "PoolTimeout",
    "ReadTimeout",
    "Response",
    "connect_words",
    "content_encoding",
]
