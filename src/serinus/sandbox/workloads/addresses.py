"""Pod IPs: a distinct loopback address for every running pod.

All of 127.0.0.0/8 is loopback on Linux, so each pod can listen on its own address with its
container's real port (``127.244.0.7:9898``), as pods do on their own network namespace. The
mesh proxy and the Endpoints find pods by these addresses.

Several sandboxes (or test runs) may share a machine. An address is handed out only when the
pod's ports can be bound on it right now, so a second sandbox skips the addresses the first one's
pods listen on; and only when this sandbox holds the address's lock file (an ``flock`` in
:data:`LOCKS`, kept while the pod has the address, dropped by the kernel when the runner dies), so
two sandboxes starting pods at the same moment never both take an address that nothing listens
on yet (three test workers did: "address already in use" for the second operator pod).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import itertools
import os
import pathlib
import socket
import tempfile
from collections.abc import Iterable

from serinus.errors import SerinusError

DEFAULT_POD_CIDR = "127.244.0.0/16"
LOCKS = pathlib.Path(tempfile.gettempdir()) / "serinus-pod-addresses"
"""One lock file per address in use by any sandbox on this machine."""


class PodAddresses:
    """Hands out and takes back the addresses of one pod range."""

    def __init__(self, cidr: str = DEFAULT_POD_CIDR, *, locks: pathlib.Path = LOCKS) -> None:
        try:
            self.network = ipaddress.ip_network(cidr)
        except ValueError as error:
            raise SerinusError(f"pod_cidr: expected a network, got {cidr!r} ({error})") from None
        if not self.network.is_loopback:
            raise SerinusError(
                f"pod_cidr: expected a loopback range such as {DEFAULT_POD_CIDR}, got {cidr}"
            )
        self._taken: set[str] = set()
        self._locks = locks
        self._held: dict[str, int] = {}

    def allocate(self, ports: Iterable[int], *, preferred: str | None = None) -> str:
        """A free address whose ``ports`` can be bound; ``preferred`` first when it is one."""
        wanted = [port for port in ports if port]
        hosts = (str(h) for h in self.network.hosts() if int(h) % 256 not in (0, 1, 255))
        for address in itertools.chain([preferred] if preferred else [], hosts):
            if address in self._taken or not self._claim(address):
                continue
            if self._usable(address, wanted):
                self._taken.add(address)
                return address
            self._unclaim(address)
        raise SerinusError(f"no free pod address left in {self.network}")

    def reserve(self, address: str) -> None:
        """Hold ``address`` for a pod whose processes already listen on it (adopted)."""
        self._claim(address)
        self._taken.add(address)

    def release(self, address: str) -> None:
        self._taken.discard(address)
        self._unclaim(address)

    def _claim(self, address: str) -> bool:
        """Take the machine-wide lock of ``address``; False when another sandbox holds it."""
        if address in self._held:
            return True
        self._locks.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._locks / address, os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            return False
        self._held[address] = descriptor
        return True

    def _unclaim(self, address: str) -> None:
        descriptor = self._held.pop(address, None)
        if descriptor is not None:
            with contextlib.suppress(OSError):
                os.close(descriptor)  # closing the only descriptor drops the flock

    def _usable(self, address: str, ports: list[int]) -> bool:
        try:
            if ipaddress.ip_address(address) not in self.network or address in self._taken:
                return False
        except ValueError:
            return False
        return all(_bindable(address, port) for port in ports)


def _bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except PermissionError:
            raise SerinusError(
                f"container port {port} is below 1024, which only root may bind here: run the "
                "sandbox as root or use a higher containerPort"
            ) from None
        except OSError:
            return False
    return True
