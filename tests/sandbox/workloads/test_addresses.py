"""Pod addresses (covers ``serinus/sandbox/workloads/addresses.py``).

Covers: addresses are distinct, loopback and in the range; a released address is handed out
again; an address whose port is already bound elsewhere is skipped; the preferred address (the
one a pod had before) is kept when free; two sandboxes allocating at the same moment, before
either pod listens, never get the same address (each holds the address's lock file), and one
released by a sandbox can be taken by the other; a range that is not loopback is refused.
"""

from __future__ import annotations

import ipaddress
import random
import socket

import pytest

from serinus.errors import SerinusError
from serinus.sandbox.workloads.addresses import PodAddresses


def cidr() -> str:
    return f"127.245.{random.randrange(2, 255)}.0/24"


def test_addresses_are_distinct_and_reused_after_release() -> None:
    pool = PodAddresses(cidr())
    first, second = pool.allocate([9898]), pool.allocate([9898])
    assert first != second
    for address in (first, second):
        assert ipaddress.ip_address(address) in pool.network
    pool.release(first)
    assert pool.allocate([9898]) == first


def test_busy_address_is_skipped_and_preferred_kept() -> None:
    pool = PodAddresses(cidr())
    probe = PodAddresses(str(pool.network))
    busy = probe.allocate([])
    with socket.socket() as taken:
        taken.bind((busy, 9898))
        taken.listen()
        assert pool.allocate([9898]) != busy
        assert pool.allocate([9898], preferred=busy) != busy
    preferred = str(list(pool.network.hosts())[100])
    assert pool.allocate([9898], preferred=preferred) == preferred


def test_two_sandboxes_never_share_an_address_nothing_listens_on_yet(tmp_path) -> None:
    network = cidr()
    first = PodAddresses(network, locks=tmp_path)
    second = PodAddresses(network, locks=tmp_path)
    ours = [first.allocate([8080]) for _ in range(3)]
    theirs = [second.allocate([8080]) for _ in range(3)]
    assert not set(ours) & set(theirs), (ours, theirs)
    assert second.allocate([8080], preferred=ours[0]) != ours[0]
    first.release(ours[0])
    assert second.allocate([8080], preferred=ours[0]) == ours[0]


def test_range_must_be_loopback() -> None:
    with pytest.raises(SerinusError, match="pod_cidr: expected a loopback range"):
        PodAddresses("10.0.0.0/24")
