"""The mesh proxy's sockets: one listening socket per Service ``clusterIP:port``.

All sockets share one aiohttp low-level server and so one handler (the
:class:`~serinus.sandbox.mesh.forward.Forwarder`), which tells them apart by the local address a
request arrived on. :meth:`Listeners.sync` opens the sockets of new Services and closes those of
deleted ones; closing a socket only stops new connections, so requests already in progress on it
finish. An address that cannot be bound (taken by another program, or not a local address) is
logged once and retried at every later sync, so it is served as soon as it becomes free.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

logger = logging.getLogger(__name__)

Address = tuple[str, int]


class Listeners:
    """The set of listening sockets, kept equal to the addresses the routing table serves."""

    def __init__(self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]) -> None:
        self._runner = web.ServerRunner(
            web.Server(handler), handle_signals=False, shutdown_timeout=5
        )
        self._sites: dict[Address, web.TCPSite] = {}
        self._failed: dict[Address, str] = {}
        self._lock = asyncio.Lock()
        self._started = False

    @property
    def addresses(self) -> frozenset[Address]:
        """The addresses listened on now."""
        return frozenset(self._sites)

    @property
    def failed(self) -> dict[Address, str]:
        """Addresses that should be listened on but could not be bound, with the reason."""
        return dict(self._failed)

    async def start(self) -> None:
        await self._runner.setup()
        self._started = True

    async def sync(self, wanted: Iterable[Address]) -> None:
        """Listen on exactly ``wanted`` (as far as the addresses can be bound)."""
        async with self._lock:
            if not self._started:
                return
            wanted = set(wanted)
            for address in set(self._sites) - wanted:
                await self._sites.pop(address).stop()
                logger.debug("stopped listening on %s:%d", *address)
            self._failed = {a: e for a, e in self._failed.items() if a in wanted}
            for address in sorted(wanted - set(self._sites)):
                await self._open(address)

    async def _open(self, address: Address) -> None:
        site = web.TCPSite(self._runner, address[0], address[1], reuse_address=True)
        try:
            await site.start()
        except OSError as error:
            await site.stop()
            reason = error.strerror or str(error)
            if self._failed.get(address) != reason:
                logger.warning("cannot listen on %s:%d: %s", address[0], address[1], reason)
            self._failed[address] = reason
            return
        self._failed.pop(address, None)
        self._sites[address] = site
        logger.debug("listening on %s:%d", *address)

    async def stop(self) -> None:
        """Close every socket and wait (up to 5 s) for requests in progress."""
        async with self._lock:
            self._sites.clear()
            self._started = False
            await self._runner.cleanup()
