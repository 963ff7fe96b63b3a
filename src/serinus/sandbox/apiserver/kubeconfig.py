"""Kubeconfig files pointing at the sandbox API server.

A cluster with the server's URL, a user with no credentials (the server takes a request without
credentials as its admin; lightkube refuses a config without a user entry at all) and a context
that makes them current, with a default namespace. When the server also listens with TLS, a second
context (``serinus-sandbox-tls``) names that port and the cluster's CA, for clients that
authenticate with a ServiceAccount token (kubectl sends ``--token`` only over TLS). Written
atomically and readable only by its owner, like ``~/.kube/config``.
"""

from __future__ import annotations

import base64
import os
import pathlib
import tempfile

import yaml

from serinus.sandbox.apiserver.objects import Obj

NAME = "serinus-sandbox"


TLS = f"{NAME}-tls"
"""The context of the TLS port (kubectl sends a ``--token`` only over TLS)."""


def kubeconfig(
    url: str,
    *,
    namespace: str = "default",
    name: str = NAME,
    secure_url: str | None = None,
    ca: str = "",
) -> Obj:
    config: Obj = {
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
    if secure_url is not None:
        authority = base64.b64encode(ca.encode()).decode()
        config["clusters"].append(
            {
                "name": TLS,
                "cluster": {"server": secure_url, "certificate-authority-data": authority},
            }
        )
        config["users"].append({"name": TLS, "user": {}})
        config["contexts"].append(
            {"name": TLS, "context": {"cluster": TLS, "user": TLS, "namespace": namespace}}
        )
    return config


def write_kubeconfig(
    path: pathlib.Path,
    url: str,
    *,
    namespace: str = "default",
    name: str = NAME,
    secure_url: str | None = None,
    ca: str = "",
) -> pathlib.Path:
    """Write a kubeconfig for ``url`` to ``path`` (mode 0600); returns the path."""
    config = kubeconfig(url, namespace=namespace, name=name, secure_url=secure_url, ca=ca)
    text = yaml.safe_dump(config, sort_keys=False)
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
