"""Commands that see the sandbox as a pod does: Service names, its kubeconfig, its tools.

``serinus sandbox shell`` and ``serinus demo`` (for the seed's fault injection) run commands
through :func:`command` and :func:`environment`: the command runs behind ``unshare`` with the
namespace's hosts file as its ``/etc/hosts`` (see :mod:`serinus.sandbox.names`), so an unmodified
``hey http://podinfo-canary:9898/status/500`` reaches the Service through the mesh proxy, as
it would from the load tester's pod in a cluster. Its environment points ``kubectl`` at the
sandbox (``KUBECONFIG``) and carries the sandbox's marker, so ``serinus sandbox down`` ends it
too if it is still running then.
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Mapping, Sequence

from serinus.errors import SerinusError
from serinus.sandbox import names
from serinus.sandbox.orchestration import state
from serinus.sandbox.workloads import SandboxDir


async def command(directory: pathlib.Path, namespace: str, words: Sequence[str]) -> list[str]:
    """``words`` wrapped to run with the Service names of ``namespace`` in the sandbox.

    Raises:
        SerinusError: no sandbox runs in ``directory``, or it has no such namespace.
    """
    directory = state.canonical(directory)
    if state.load(directory) is None:
        raise SerinusError(
            f"no sandbox in {directory}: start one with `serinus sandbox up --dir {directory}`"
        )
    hosts = SandboxDir(directory).hosts(namespace)
    if not hosts.exists():
        raise SerinusError(
            f"namespace {namespace!r} has no Service names in the sandbox in {directory} "
            "(does the namespace exist? `kubectl get ns`)"
        )
    isolation = await names.detect()
    return isolation.wrap(list(words), hosts, own_pids=True)


def environment(directory: pathlib.Path, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the caller's environment, which the CLI reads) plus the sandbox's kubeconfig,
    marker and serinus on PATH."""
    directory = state.canonical(directory)
    env = dict(base)
    env["KUBECONFIG"] = str(SandboxDir(directory).kubeconfig)
    env[state.MARKER] = str(directory)
    bin_dir = str(pathlib.Path(sys.executable).parent)
    if bin_dir not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    return env
