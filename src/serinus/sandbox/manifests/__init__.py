"""The objects the sandbox applies, as YAML files shipped with serinus.

``serinus sandbox up`` applies the CRDs (Flagger's three, generated from :mod:`serinus.apis`
like ``deploy/crds/``, plus the SMI TrafficSplit, Gateway API HTTPRoute and Contour HTTPProxy
CRDs the mesh proxy routes by), ``namespaces.yaml``, ``operator.yaml`` and ``loadtester.yaml``;
``serinus demo`` applies ``podinfo.yaml`` and the seed's ``canary.yaml``. The files are plain
manifests a user can read and ``kubectl apply`` by hand; a few hold ``${name}`` fields that only
the sandbox knows (its kubeconfig path, its Prometheus URL, serinus' version), filled in by
:func:`load`.
Kubernetes' own ``$(VAR)`` references are left alone.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Mapping
from typing import Any

import yaml

from serinus.apis.base import Manifest
from serinus.apis.crds import custom_resource_definitions
from serinus.errors import SerinusError

MESH_CRDS = ("trafficsplits.yaml", "httproutes.yaml", "httpproxies.yaml")
_FIELD = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def text(name: str) -> str:
    """The text of a bundled manifest file."""
    return importlib.resources.files(__package__).joinpath(name).read_text()


def load(name: str, fields: Mapping[str, str] | None = None) -> list[Manifest]:
    """The documents of a bundled manifest file, its ``${name}`` fields filled in.

    Raises:
        SerinusError: when the file uses a field that ``fields`` does not give.
    """
    values = dict(fields or {})

    def fill(found: re.Match[str]) -> str:
        key = found.group(1)
        if key not in values:
            raise SerinusError(f"manifest {name}: no value for ${{{key}}}")
        return values[key]

    documents: list[Any] = list(yaml.safe_load_all(_FIELD.sub(fill, text(name))))
    return [document for document in documents if isinstance(document, dict)]


def crds() -> list[Manifest]:
    """Every CustomResourceDefinition the sandbox serves: Flagger's and the mesh's."""
    found = list(custom_resource_definitions().values())
    for name in MESH_CRDS:
        found += load(name)
    return found
