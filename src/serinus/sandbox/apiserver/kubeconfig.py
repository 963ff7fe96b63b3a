"""Kubeconfig files pointing at the sandbox API server.

A cluster with the server's URL, a user with no credentials (the server checks none; lightkube
refuses a config without a user entry at all) and a context that makes them current, with a
default namespace. Written atomically and readable only by its owner, like ``~/.kube/config``.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

import yaml

from serinus.sandbox.apiserver.objects import Obj

NAME = "serinus-sandbox"


def kubeconfig(url: str, *, namespace: str = "default", name: str = NAME) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}}],
        "users": [{"name": name, "user": {}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
        ],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(
    path: pathlib.Path, url: str, *, namespace: str = "default", name: str = NAME
) -> pathlib.Path:
    """Write a kubeconfig for ``url`` to ``path`` (mode 0600); returns the path."""
    text = yaml.safe_dump(kubeconfig(url, namespace=namespace, name=name), sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
    return path
