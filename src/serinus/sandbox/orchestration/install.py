"""Installing serinus into a running sandbox the way the README tells a platform engineer to.

``serinus sandbox up --install-with helm`` runs the README's two ``helm upgrade --install``
commands (read from the README itself, so they cannot drift apart), ``--install-with kustomize``
the ``kubectl apply -k`` commands of docs/install.md for Linkerd, and ``--install-with none``
leaves the sandbox bare for a user to install by hand. Either way the sandbox first makes what a
Linkerd cluster has before serinus arrives: the ``linkerd`` and ``prod`` namespaces, and the
``linkerd-viz`` Prometheus as the Service ``prometheus.linkerd-viz:9090`` in front of the
sandbox's own Prometheus, which is the address the README gives the operator. The commands run
from the repository checkout that holds ``deploy/`` (the charts and trees are not part of the
Python package).
"""

from __future__ import annotations

import asyncio
import pathlib
import re
import shlex
from collections.abc import Mapping

from serinus.apis.base import Manifest
from serinus.errors import SerinusError
from serinus.kube import Kube

METHODS = ("sandbox", "helm", "kustomize", "none")
SYSTEM = (("linkerd", "serinus"), ("prod", "load-tester"))
"""The Deployments the README's installation creates: the operator and the load tester."""
_HELM = re.compile(r"^helm upgrade --install .*$", re.MULTILINE)
_KUSTOMIZE = re.compile(
    r"^kubectl apply -k deploy/kustomize/(?:linkerd|base/loadtester)\b.*$", re.MULTILINE
)


def checkout() -> pathlib.Path:
    """The repository checkout serinus runs from (it holds README.md and deploy/)."""
    root = pathlib.Path(__file__).resolve().parents[4]
    if not (root / "deploy" / "charts").is_dir() or not (root / "README.md").is_file():
        raise SerinusError(
            "installing with helm or kustomize needs serinus' repository checkout (README.md and "
            f"deploy/), found none at {root}: run serinus from a clone"
        )
    return root


def _joined(text: str) -> str:
    """Shell text with its backslash line continuations joined."""
    return re.sub(r"\\\n\s*", " ", text)


def commands(method: str, root: pathlib.Path) -> list[list[str]]:
    """The documented command lines of ``method`` (``helm`` or ``kustomize``), split as a shell."""
    if method == "helm":
        lines = _HELM.findall(_joined((root / "README.md").read_text()))
    elif method == "kustomize":
        text = (root / "docs" / "install.md").read_text()
        lines = [line.split("#")[0].strip() for line in _KUSTOMIZE.findall(text)]
    else:
        return []
    if len(lines) != 2:
        raise SerinusError(
            f"expected the two {method} commands of the documentation, found {len(lines)}"
        )
    return [shlex.split(line) for line in lines]


def cluster_objects(prometheus_port: int) -> list[Manifest]:
    """Namespaces and the linkerd-viz Prometheus Service a Linkerd cluster has."""
    namespaces: list[Manifest] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in ("linkerd", "linkerd-viz", "prod")
    ]
    meta = {"name": "prometheus", "namespace": "linkerd-viz"}
    service: Manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"ports": [{"name": "http", "port": 9090, "targetPort": prometheus_port}]},
    }
    endpoints: Manifest = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": meta,
        "subsets": [
            {
                "addresses": [{"ip": "127.0.0.1"}],
                "ports": [{"name": "http", "port": prometheus_port}],
            }
        ],
    }
    return [*namespaces, service, endpoints]


async def prepare(kube: Kube, prometheus_port: int) -> None:
    for manifest in cluster_objects(prometheus_port):
        await kube.apply(manifest, field_manager="serinus-sandbox")


async def run(method: str, kubeconfig: pathlib.Path, environment: Mapping[str, str]) -> list[str]:
    """Run the documented commands of ``method``; what each printed (SerinusError on failure)."""
    root = checkout()
    env = {**environment, "KUBECONFIG": str(kubeconfig)}
    outputs = []
    for command in commands(method, root):
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=root,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
        text = out.decode(errors="replace")
        if process.returncode != 0:
            raise SerinusError(f"`{shlex.join(command)}` failed ({process.returncode}):\n{text}")
        outputs.append(text)
    return outputs


def documented(method: str) -> list[str]:
    """The documented command lines of ``method`` as text (for messages and tests)."""
    return [shlex.join(words) for words in commands(method, checkout())]
