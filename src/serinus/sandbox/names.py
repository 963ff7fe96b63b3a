"""Service names inside the sandbox: per-namespace hosts files and the private mount namespace.

In a cluster, a pod in ``prod`` reaches ``podinfo``, ``podinfo.prod``, ``podinfo.prod.svc`` and
``podinfo.prod.svc.cluster.local`` through cluster DNS. The sandbox gives its pod processes (and
``serinus sandbox shell``) the same names without touching the machine's resolver: the workload
runner keeps one hosts file per namespace (:func:`render_hosts`, :func:`write_hosts`) mapping every
Service to its clusterIP (short names only for that namespace's own Services), and each command
runs behind ``unshare`` in a private mount namespace where that file is bind-mounted over
``/etc/hosts`` (:meth:`Isolation.wrap`). Everything that resolves through ``/etc/hosts``, glibc's
``getaddrinfo`` and Go's resolver alike (``hey``), sees the names; the machine's own ``/etc/hosts``
is never written.

Why these details:

* The file is rewritten in place, never replaced: a bind mount pins the inode it was given, so a
  rename would leave running pods with the old names.
* As root, ``unshare -m`` is enough. Without root, ``unshare -r -m`` (a user namespace mapping the
  caller to root) gives the same private mount namespace when the kernel allows unprivileged user
  namespaces; the host's network and loopback addresses stay reachable, but ports below 1024 cannot
  be bound. :func:`detect` tries what works here once and fails with a message saying what is
  needed when nothing does.
* Pods also get a private PID namespace (``-p -f --kill-child``): when a pod's main process dies,
  or the runner kills its process group, every process it started (``hey`` run by the load tester,
  in its own session) dies with it, so no orphan outlives a pod.

ExternalName and headless Services (no clusterIP) get no entry: a hosts file cannot express a
CNAME or a changing set of pod addresses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import logging
import os
import pathlib
import shlex
import shutil
from collections.abc import Iterable, Sequence

from serinus.apis.base import Manifest
from serinus.errors import SerinusError

logger = logging.getLogger(__name__)

CLUSTER_DOMAIN = "cluster.local"
_BIND = 'mount --bind "$0" /etc/hosts && exec "$@"'
_HEADER = (
    "# Service names of namespace {namespace} in the serinus sandbox.\n"
    "# Kept up to date by the workload runner; seen as /etc/hosts by its pods.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
)


def service_names(name: str, namespace: str, *, local: bool) -> list[str]:
    """The names a Service answers to; the short name only from its own namespace."""
    full = [
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}",
    ]
    return [name, *full] if local else full


def _cluster_ip(service: Manifest) -> str | None:
    address = str((service.get("spec") or {}).get("clusterIP") or "")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address


def render_hosts(namespace: str, services: Iterable[Manifest]) -> str:
    """The hosts file of ``namespace``: every Service with a clusterIP, in a stable order."""
    lines = [_HEADER.format(namespace=namespace)]
    keyed = []
    for service in services:
        meta = service.get("metadata") or {}
        address = _cluster_ip(service)
        if address is not None:
            keyed.append((str(meta.get("namespace") or ""), str(meta.get("name") or ""), address))
    for ns, name, address in sorted(keyed):
        names = service_names(name, ns, local=ns == namespace)
        lines.append(f"{address}\t{' '.join(names)}\n")
    return "".join(lines)


def write_hosts(path: pathlib.Path, text: str) -> bool:
    """Write ``text`` into ``path`` in place (bind mounts keep the inode); True when it changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    try:
        with path.open("r+b") as handle:
            if handle.read() == data:
                return False
            handle.seek(0)
            handle.write(data)
            handle.truncate()
    except FileNotFoundError:
        with path.open("wb") as handle:
            handle.write(data)
        path.chmod(0o644)
    return True


@dataclasses.dataclass(frozen=True)
class Isolation:
    """The ``unshare`` invocation that gives a command a private ``/etc/hosts`` on this machine."""

    unshare: str
    rootless: bool
    """True when it needs a user namespace (not running as root)."""

    def wrap(
        self,
        command: Sequence[str],
        hosts: pathlib.Path,
        *,
        own_pids: bool = True,
        mounts: Sequence[tuple[pathlib.Path, str]] = (),
    ) -> list[str]:
        """``command`` run with ``hosts`` as its ``/etc/hosts``.

        With ``own_pids`` the command is PID 1 of a new PID namespace, so everything it starts
        dies with it. The returned command's own PID is ``unshare``, which exits with the
        command's status. ``mounts`` are (directory, mount point) pairs bind-mounted in the same
        private namespace (pod volumes); a missing mount point is created first.
        """
        flags = ["-r"] if self.rootless else []
        flags.append("-m")
        if own_pids:
            flags += ["-p", "-f", "--kill-child=SIGTERM"]
        script = _BIND
        if mounts:
            binds = " && ".join(
                f"mkdir -p {shlex.quote(point)} && mount --bind {shlex.quote(str(source))}"
                f" {shlex.quote(point)}"
                for source, point in mounts
            )
            script = script.replace(" && exec", f" && {binds} && exec", 1)
        return [self.unshare, *flags, "--", "sh", "-c", script, str(hosts.resolve()), *command]


_detected: Isolation | None = None


async def detect() -> Isolation:
    """What works here (tried once per process); SerinusError saying what is needed otherwise."""
    global _detected
    if _detected is not None:
        return _detected
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SerinusError(
            "the sandbox resolves Service names in a private mount namespace, which needs "
            "Linux and util-linux's unshare; no unshare found on PATH"
        )
    rootless = os.geteuid() != 0
    candidate = Isolation(unshare, rootless)
    problem = await _try(candidate)
    if problem is not None:
        need = (
            "run it as root, or allow unprivileged user namespaces "
            "(sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1, and on "
            "Ubuntu kernel.apparmor_restrict_unprivileged_userns=0)"
            if rootless
            else "the process needs CAP_SYS_ADMIN (in a container: --privileged or "
            "--cap-add SYS_ADMIN)"
        )
        raise SerinusError(
            "cannot give sandbox commands their own /etc/hosts (private mount namespace): "
            f"{problem}; {need}"
        )
    logger.info(
        "Service names: private mount namespaces via %s",
        "a user namespace (rootless)" if rootless else "unshare as root",
    )
    _detected = candidate
    return candidate


async def _try(isolation: Isolation) -> str | None:
    """None when a bind mount over /etc/hosts works in a new namespace, else what went wrong."""
    command = isolation.wrap(["true"], pathlib.Path("/etc/hosts"))
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    except (OSError, TimeoutError) as error:
        return f"{' '.join(command[:6])} failed: {error}"
    if process.returncode != 0:
        return f"unshare exited with {process.returncode}: {err.decode().strip()[:200]}"
    return None
