"""From a commit's files to the objects to apply, as Flux's kustomize-controller builds them.

A folder with a ``kustomization.yaml`` (or ``.yml``, or ``Kustomization``) is built with
``kubectl kustomize``, the kustomize that ships with kubectl. A folder without one gets one
generated, as the kustomize-controller does: every ``.yaml``/``.yml`` file below it is a
resource, except that a sub-folder holding its own kustomization file is included as one
resource (and not entered), and hidden files and folders (``.git``, ``.github``, ...) are left
out. A YAML file that is not a Kubernetes object fails the build naming the file, as it fails
Flux's (kustomize cannot decode it); so does an empty repository.

Errors are :class:`BuildError`, whose message becomes the Kustomization's ``BuildFailed``
condition and Event.
"""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import yaml

from serinus.apis.base import Manifest
from serinus.errors import SerinusError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
BUILD_TIMEOUT = 60.0


class BuildError(SerinusError):
    """The manifests could not be built; the message names the file or kustomize's complaint."""


async def build(root: pathlib.Path) -> list[Manifest]:
    """The objects the tree at ``root`` stands for."""
    if not any((root / name).is_file() for name in KUSTOMIZATION_FILES):
        await asyncio.to_thread(_generate, root)
    process = await asyncio.create_subprocess_exec(
        "kubectl", "kustomize", str(root),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=BUILD_TIMEOUT)
    except TimeoutError:
        process.kill()
        raise BuildError(f"kustomize build did not finish in {BUILD_TIMEOUT:.0f}s") from None
    if process.returncode != 0:
        why = err.decode(errors="replace").strip().replace(str(root) + "/", "")
        raise BuildError(f"kustomize build failed: {why[-500:]}")
    documents: list[Any] = list(yaml.safe_load_all(out))
    return [document for document in documents if isinstance(document, dict)]


def _generate(root: pathlib.Path) -> None:
    """Write the kustomization.yaml the kustomize-controller would generate for ``root``."""
    resources = _scan(root, root)
    if not resources:
        raise BuildError("no Kubernetes manifests (.yaml or .yml files) in the repository")
    generated = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }
    (root / "kustomization.yaml").write_text(yaml.safe_dump(generated, sort_keys=False))


def _scan(root: pathlib.Path, folder: pathlib.Path) -> list[str]:
    found: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        relative = str(entry.relative_to(root))
        if entry.is_dir():
            if any((entry / name).is_file() for name in KUSTOMIZATION_FILES):
                found.append(relative)
            else:
                found += _scan(root, entry)
        elif entry.suffix in (".yaml", ".yml"):
            _check(entry, relative)
            found.append(relative)
    return found


def _check(path: pathlib.Path, relative: str) -> None:
    """BuildError naming the file when a document in it is not a Kubernetes object."""
    try:
        documents = list(yaml.safe_load_all(path.read_text()))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise BuildError(f"failed to decode Kubernetes YAML from {relative}: {error}") from None
    for document in documents:
        if document is None:
            continue
        if (
            not isinstance(document, dict)
            or not document.get("apiVersion")
            or not document.get("kind")
        ):
            raise BuildError(
                f"failed to decode Kubernetes YAML from {relative}: expected objects with "
                "apiVersion and kind"
            )
