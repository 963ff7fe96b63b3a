"""Kubeconfig files for the sandbox API server.

Covers: the file names the server URL, an empty user (lightkube needs the entry) and a current
context with the namespace; it is readable by its owner only; lightkube's loader accepts it.
"""

from __future__ import annotations

import pathlib
import stat

import yaml
from lightkube.config.kubeconfig import KubeConfig

from serinus.sandbox.apiserver import write_kubeconfig


def test_kubeconfig_file(tmp_path: pathlib.Path) -> None:
    path = write_kubeconfig(tmp_path / "sub" / "config", "http://127.0.0.1:6443", namespace="prod")
    document = yaml.safe_load(path.read_text())
    assert document["clusters"][0]["cluster"] == {"server": "http://127.0.0.1:6443"}
    assert document["users"][0]["user"] == {}
    context = document["contexts"][0]["context"]
    assert document["current-context"] == document["contexts"][0]["name"]
    assert context["namespace"] == "prod"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = KubeConfig.from_file(path).get()
    assert loaded is not None
    assert loaded.cluster.server == "http://127.0.0.1:6443"
    assert loaded.namespace == "prod"
