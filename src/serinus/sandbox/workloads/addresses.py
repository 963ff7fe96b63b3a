"""Pod IPs: a distinct loopback address for every running pod.

All of 127.0.0.0/8 is loopback on Linux, so each pod can listen on its own address with its
container's real port (``127.244.0.7:9898``), as pods do on their own network namespace. The
mesh proxy and the Endpoints find pods by these addresses.

Several sandboxes (or test runs) may share a machine; an address is handed out only when the
pod's ports can be bound on it right now, so a second sandbox skips the first one's addresses
instead of failing with "address in use".
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from serinus.errors import SerinusError

DEFAULT_POD_CIDR = "127.244.0.0/16"


class PodAddresses:
    """Hands out and takes back the addresses of one pod range."""

    def __init__(self, cidr: str = DEFAULT_POD_CIDR) -> None:
        try:
            self.network = ipaddress.ip_network(cidr)
        except ValueError as error:
            raise SerinusError(f"pod_cidr: expected a network, got {cidr!r} ({error})") from None
        if not self.network.is_loopback:
            raise SerinusError(
                f"pod_cidr: expected a loopback range such as {DEFAULT_POD_CIDR}, got {cidr}"
            )
        self._taken: set[str] = set()

    def allocate(self, ports: Iterable[int], *, preferred: str | None = None) -> str:
        """A free address whose ``ports`` can be bound; ``preferred`` first when it is one."""
        wanted = [port for port in ports if port]
        if preferred and self._usable(preferred, wanted):
            self._taken.add(preferred)
            return preferred
        for host in self.network.hosts():
            address = str(host)
            if int(host) % 256 in (0, 1, 255) or address in self._taken:
                continue
            if self._usable(address, wanted):
                self._taken.add(address)
                return address
        raise SerinusError(f"no free pod address left in {self.network}")

    def reserve(self, address: str) -> None:
        """Hold ``address`` for a pod whose processes already listen on it (adopted)."""
        self._taken.add(address)

    def release(self, address: str) -> None:
        self._taken.discard(address)

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
