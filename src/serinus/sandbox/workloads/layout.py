"""Where the sandbox keeps its files: one directory, ``.sandbox`` by default.

::

    <dir>/
      kubeconfig                      the API server's kubeconfig (written by the sandbox's
                                      start-up; read by ``serinus sandbox shell`` and given to
                                      every pod as $KUBECONFIG)
      hosts/<namespace>               Service names -> clusterIP for pods of that namespace
                                      (kept up to date by the workload runner, see names.py)
      pods/<namespace>/<pod>/         a pod's working directory and $HOME
        <container>/<n>.log           output (stdout and stderr) of the container's n-th run,
                                      n = its restartCount then
        <container>/<n>.exit          that run's exit code, written when it ended

A pod's directory goes when the pod is deleted. The layout is shared by the runner (which
writes it), the log source (which serves ``kubectl logs`` from it) and the shell command.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re

_LOG = re.compile(r"^(\d+)\.log$")


@dataclasses.dataclass(frozen=True)
class SandboxDir:
    root: pathlib.Path

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.root / "kubeconfig"

    @property
    def hosts_dir(self) -> pathlib.Path:
        return self.root / "hosts"

    def hosts(self, namespace: str) -> pathlib.Path:
        return self.hosts_dir / namespace

    def pod(self, namespace: str, pod: str) -> pathlib.Path:
        return self.root / "pods" / namespace / pod

    def log(self, namespace: str, pod: str, container: str, run: int) -> pathlib.Path:
        return self.pod(namespace, pod) / container / f"{run}.log"

    def exit_file(self, namespace: str, pod: str, container: str, run: int) -> pathlib.Path:
        return self.pod(namespace, pod) / container / f"{run}.exit"

    def runs(self, namespace: str, pod: str, container: str) -> list[int]:
        """The runs of a container that have a log, oldest first."""
        folder = self.pod(namespace, pod) / container
        if not folder.is_dir():
            return []
        found = (_LOG.match(path.name) for path in folder.iterdir())
        return sorted(int(match.group(1)) for match in found if match)
