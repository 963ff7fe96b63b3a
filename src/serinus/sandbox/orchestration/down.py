"""``serinus sandbox down``: stop everything a sandbox started, and prove nothing is left.

The supervisor goes first (``up`` in the foreground, or a detached ``up``'s supervisor process),
so that nothing starts again what is being stopped. Then the parts are stopped in an order that
lets each end cleanly: the workload runner first (it
SIGTERMs every pod's process group, the operator and the load tester included, waits for their
grace periods, and the load tester kills the ``hey`` it runs), then the mesh proxy, Prometheus
and last the API server. Each gets SIGTERM and, when it outlives its grace period, SIGKILL on its
whole process group.

Then every process still carrying the sandbox's marker (see :mod:`processes`) is killed: a pod
process whose runner died earlier, a ``hey`` started from ``serinus sandbox shell``. Since a
socket lives only as long as a process holds it, no port of the sandbox stays bound once no
process is left; :attr:`DownReport.leftovers` says if any process survived even SIGKILL.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib

from serinus.sandbox.orchestration import processes, state

logger = logging.getLogger(__name__)

ORDER = ("gitops", "workloads", "mesh", "prometheus", "apiserver")
GRACE = {"workloads": 30.0, "mesh": 10.0, "prometheus": 10.0, "apiserver": 10.0}
SUPERVISOR_GRACE = 90.0
"""A foreground ``up`` stops the whole sandbox itself on SIGTERM; it gets the time for that."""


@dataclasses.dataclass(frozen=True)
class DownReport:
    """What ``down`` did."""

    found: bool
    """Whether a sandbox was recorded (or any of its processes found) in the directory."""
    stopped: tuple[str, ...] = ()
    """Parts that were running and were stopped."""
    killed: tuple[str, ...] = ()
    """Parts that ignored SIGTERM for their whole grace period."""
    stragglers: tuple[int, ...] = ()
    """Other processes of the sandbox that were still there and got SIGKILL."""
    leftovers: tuple[int, ...] = ()
    """Processes of the sandbox still alive at the end (should be none)."""


def stop(directory: pathlib.Path) -> DownReport:
    """Stop the sandbox in ``directory`` (nothing happens when none runs there)."""
    directory = state.canonical(directory)
    recorded = state.load(directory)
    if recorded is None and not processes.marked(directory):
        return DownReport(found=False)
    stopped: list[str] = []
    killed: list[str] = []
    supervisor = recorded.supervisor if recorded is not None else 0
    if supervisor and supervisor != os.getpid() and processes.alive(supervisor):
        stopped.append("supervisor")
        if processes.stop([supervisor], grace=SUPERVISOR_GRACE):
            killed.append("supervisor")
    known = recorded.parts if recorded is not None else {}
    names = [name for name in ORDER if name in known]
    names += [name for name in known if name not in ORDER]
    for name in names:
        part = known[name]
        if not processes.alive(part.pid):
            processes.reap(part.pid)
            continue
        stopped.append(name)
        if processes.stop([part.pid], grace=GRACE.get(name, 10.0)):
            logger.warning("sandbox part %s ignored SIGTERM; killed", name)
            killed.append(name)
    stragglers = processes.kill_marked(directory)
    leftovers = processes.marked(directory)
    if not leftovers:
        state.remove(directory)
    return DownReport(
        found=True,
        stopped=tuple(stopped),
        killed=tuple(killed),
        stragglers=tuple(stragglers),
        leftovers=tuple(leftovers),
    )
