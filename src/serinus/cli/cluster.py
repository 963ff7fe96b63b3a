"""How the commands that operate Canaries reach the cluster, as kubectl does.

:func:`cluster_options` adds ``--kubeconfig``, ``--context`` and ``-n/--namespace`` (plus ``-A``
where a command lists) to a command and hands it a :class:`Cluster`. The kubeconfig is found as
kubectl finds it: ``--kubeconfig``, else the first file of ``$KUBECONFIG`` that exists, else
``~/.kube/config``, else the pod's service account. The namespace is ``-n``, else the context's,
else ``default``. Under ``kubectl serinus`` the same variables reach the plugin, so both agree.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from collections.abc import Callable
from typing import Any

import click

from serinus.cli import common
from serinus.kube.client import Kube
from serinus.kube.config import KubeSettings


@dataclasses.dataclass(frozen=True)
class Cluster:
    """Where to find the API and which namespace a command is about."""

    settings: KubeSettings
    namespace: str | None
    """``-n``; None means the context's namespace."""

    def kube(self) -> Kube:
        return Kube(dataclasses.replace(self.settings, user_agent="serinus-cli"))

    def namespace_of(self, kube: Kube) -> str:
        return self.namespace or kube.namespace


def kubeconfig_path(option: pathlib.Path | None) -> pathlib.Path | None:
    """The kubeconfig file kubectl would read, or None (in-cluster)."""
    if option is not None:
        return option
    for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep):
        if entry and pathlib.Path(entry).expanduser().is_file():
            return pathlib.Path(entry).expanduser()
    default = pathlib.Path("~/.kube/config").expanduser()
    return default if default.is_file() else None


def settings_for(kubeconfig: pathlib.Path | None, context: str | None) -> KubeSettings:
    path = kubeconfig_path(kubeconfig)
    return KubeSettings(
        kubeconfig=path,
        context=context,
        service_host=os.environ.get("KUBERNETES_SERVICE_HOST") if path is None else None,
        service_port=os.environ.get("KUBERNETES_SERVICE_PORT") if path is None else None,
        timeout=15.0,
    )


def cluster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--kubeconfig``, ``--context`` and ``-n``; the command receives ``cluster``."""

    @functools.wraps(command)
    def connected(
        *args: Any,
        kubeconfig: pathlib.Path | None,
        context: str | None,
        namespace: str | None,
        **kwargs: Any,
    ) -> Any:
        with common.click_errors():
            settings = settings_for(kubeconfig, context)
        return command(*args, cluster=Cluster(settings, namespace), **kwargs)

    options = [
        click.option(
            "--kubeconfig",
            type=click.Path(path_type=pathlib.Path, dir_okay=False),
            help="Path to a kubeconfig (default: $KUBECONFIG, then ~/.kube/config).",
        ),
        click.option("--context", default=None, help="The kubeconfig context to use."),
        click.option(
            "-n", "--namespace", default=None, help="The namespace (default: the context's)."
        ),
    ]
    for option in reversed(options):
        connected = option(connected)
    return connected
