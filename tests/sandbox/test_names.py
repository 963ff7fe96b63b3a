"""Service names in the sandbox (covers ``serinus/sandbox/names.py``).

Covers:
- the hosts file of a namespace maps every Service with a clusterIP to its qualified names, and
  to its short name only in its own namespace; headless and ExternalName Services get no line;
- the file is rewritten in place (the same inode, which bind mounts keep) and only when it
  changed;
- a command wrapped by :meth:`Isolation.wrap` sees that file as /etc/hosts (getent), while the
  machine's /etc/hosts stays as it was; with its own PID namespace, what it started in another
  session dies with it; the rootless flags (a user namespace) work here too;
- when no private mount namespace can be made, or there is no unshare, the error says what is
  needed.
"""

from __future__ import annotations

import asyncio
import pathlib

import pytest

from serinus.errors import SerinusError
from serinus.sandbox import names


def service(name: str, namespace: str, address: str) -> dict:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"clusterIP": address}}


SERVICES = [
    service("podinfo", "prod", "127.96.0.10"),
    service("podinfo-canary", "prod", "127.96.0.11"),
    service("load-tester", "test", "127.96.0.12"),
    service("headless", "prod", "None"),
    {"metadata": {"name": "external", "namespace": "prod"}, "spec": {"type": "ExternalName"}},
]


def test_hosts_file_maps_services_to_their_names() -> None:
    text = names.render_hosts("prod", SERVICES)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "127.96.0.10\tpodinfo podinfo.prod podinfo.prod.svc podinfo.prod.svc.cluster.local",
        "127.96.0.11\tpodinfo-canary podinfo-canary.prod podinfo-canary.prod.svc "
        "podinfo-canary.prod.svc.cluster.local",
        "127.96.0.12\tload-tester.test load-tester.test.svc load-tester.test.svc.cluster.local",
    ]


def test_hosts_file_is_rewritten_in_place_only_when_changed(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "hosts" / "prod"
    assert names.write_hosts(path, "a\n")
    inode = path.stat().st_ino
    assert not names.write_hosts(path, "a\n")
    assert names.write_hosts(path, "b b b\n")
    assert names.write_hosts(path, "c\n")
    assert (path.read_text(), path.stat().st_ino) == ("c\n", inode)


async def run(command: list[str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode or 0, out.decode()


def read(path: pathlib.Path) -> str:
    return path.read_text()


async def test_wrapped_command_sees_the_hosts_file(tmp_path: pathlib.Path) -> None:
    machine = read(pathlib.Path("/etc/hosts"))
    hosts = tmp_path / "prod"
    names.write_hosts(hosts, names.render_hosts("prod", SERVICES))
    isolation = await names.detect()
    for own_pids in (True, False):
        command = isolation.wrap(["getent", "hosts", "podinfo-canary"], hosts, own_pids=own_pids)
        code, out = await run(command)
        assert (code, out.split()[:2]) == (0, ["127.96.0.11", "podinfo-canary"])
    assert read(pathlib.Path("/etc/hosts")) == machine
    code, _ = await run(["getent", "hosts", "podinfo-canary.prod.svc.cluster.local"])
    assert code != 0


async def test_own_pid_namespace_takes_its_children_along(tmp_path: pathlib.Path) -> None:
    hosts = tmp_path / "prod"
    names.write_hosts(hosts, names.render_hosts("prod", []))
    isolation = await names.detect()
    marker = f"sleep {4242 + len(str(tmp_path)) % 1000}.5"
    script = f"setsid {marker} & echo started"
    code, out = await run(isolation.wrap(["sh", "-c", script], hosts))
    assert (code, out.strip()) == (0, "started")
    code, listed = await run(["pgrep", "-f", marker])
    assert code == 1, f"a child outlived its PID namespace: {listed}"


async def test_rootless_flags_work_here(tmp_path: pathlib.Path) -> None:
    hosts = tmp_path / "prod"
    names.write_hosts(hosts, names.render_hosts("prod", SERVICES))
    unshare = (await names.detect()).unshare
    rootless = names.Isolation(unshare, rootless=True)
    code, out = await run(rootless.wrap(["getent", "hosts", "podinfo"], hosts))
    assert (code, out.split()[:2]) == (0, ["127.96.0.10", "podinfo"])


async def test_no_private_namespace_is_a_clear_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "unshare"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    monkeypatch.setattr(names, "_detected", None)
    with pytest.raises(SerinusError) as caught:
        await names.detect()
    message = str(caught.value)
    assert "cannot give sandbox commands their own /etc/hosts" in message
    assert "Operation not permitted" in message
    assert ("root" in message) or ("CAP_SYS_ADMIN" in message)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SerinusError, match="needs Linux and util-linux's unshare"):
        await names.detect()
