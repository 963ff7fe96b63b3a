"""Flagger's own manifests through serinus: how many ``serinus validate`` accepts and the operator
initializes.

Run: ``.venv/bin/python benchmarks/flagger_corpus.py FLAGGER_CHECKOUT`` (a clone of
github.com/fluxcd/flagger; nothing of it is stored in this repository).

The corpus is every Canary, MetricTemplate and AlertProvider in Flagger's documentation
(``docs/``: the YAML of fenced code blocks), its examples (``artifacts/examples/``,
``kustomize/README.md``) and its end-to-end test scripts (``test/``: the YAML of shell
here-documents): each ``---``-separated document whose top-level ``kind`` is one of the three.
Each document gets the provider its source was written for: the mesh in the file's path
(``test/contour/``, ``contour-progressive-delivery.md``, ``istio-canary.yaml``), else Flagger's
default, ``istio``. ``spec.provider`` wins, as in Flagger.

1. Every document goes through the real ``serinus validate --mesh-provider P``; a document is
   accepted when it has no problem line (notes are not problems). Rejected documents are listed
   with their first problem.
2. Every accepted Canary is created, in a namespace of its own, in the sandbox's API server with
   every router's CRDs registered (see ``corpus_cluster.py``), next to what it refers to, and the
   real ``serinus operator`` runs them all at once. A Canary is initialized when its phase is
   ``Initialized``; the others are listed with their phase and status message.

Printed: the documents per kind found, accepted and (Canaries) initialized, then the exceptions.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import pathlib
import re
import subprocess
import sys
import tempfile
import time
from typing import Any

import yaml

from serinus.apis.canary import PROVIDERS

KINDS = ("Canary", "MetricTemplate", "AlertProvider")
WHERE = ("docs", "test", "artifacts/examples", "kustomize")
FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
HEREDOC = re.compile(r"<<-?[ \t]*['\"]?(\w+)['\"]?[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
SEPARATOR = re.compile(r"^---[ \t]*$", re.M)
TOP_KIND = re.compile(r"^kind:[ \t]*(\w+)[ \t]*$", re.M)
# The mesh a source is written for, from its path; the first keyword found wins.
PATH_PROVIDERS = (
    ("prometheus-operator", "kubernetes"),  # the tutorial installs Flagger with meshProvider
    ("blue-green", "kubernetes"),
    ("keda", "kubernetes"),
    ("gatewayapi", "gatewayapi:v1"),  # test/gatewayapi/install.sh
    *((mesh, mesh) for mesh in PROVIDERS if ":" not in mesh),
)
DEFAULT_PROVIDER = "istio"  # Flagger's -mesh-provider default


@dataclasses.dataclass
class Document:
    """One flagger.app document of the corpus and what serinus made of it."""

    source: str
    kind: str
    text: str
    provider: str
    problems: list[str] = dataclasses.field(default_factory=list)
    outcome: str = ""  # a Canary's phase in the sandbox, with its message when not Initialized

    @property
    def manifest(self) -> dict[str, Any]:
        loaded = yaml.safe_load(self.text)
        return loaded if isinstance(loaded, dict) else {}

    @property
    def label(self) -> str:
        meta = self.manifest.get("metadata") or {}
        return f"{self.source}: {self.kind} {meta.get('namespace', '-')}/{meta.get('name', '-')}"


def blocks(path: pathlib.Path) -> list[str]:
    """The YAML a file holds: fenced blocks of Markdown, here-documents of shell, a YAML file."""
    text = path.read_text(errors="replace")
    if path.suffix == ".md":
        return [found.group(1) for found in FENCE.finditer(text)]
    if path.suffix == ".sh":
        return [found.group(2) for found in HEREDOC.finditer(text)]
    return [text]


def source_provider(source: str) -> str:
    name = source.lower()
    return next((mesh for key, mesh in PATH_PROVIDERS if key in name), DEFAULT_PROVIDER)


def extract(root: pathlib.Path) -> list[Document]:
    """Every Canary, MetricTemplate and AlertProvider of the checkout, in path order."""
    found: list[Document] = []
    files = [p for where in WHERE for p in sorted((root / where).rglob("*")) if p.is_file()]
    for path in files:
        if path.suffix not in (".md", ".sh", ".yaml", ".yml"):
            continue
        source = str(path.relative_to(root))
        for block in blocks(path):
            for text in SEPARATOR.split(block):
                kind = TOP_KIND.search(text)
                if kind is None or kind.group(1) not in KINDS:
                    continue
                document = Document(source, kind.group(1), text, source_provider(source))
                provider = (document.manifest.get("spec") or {}).get("provider")
                if document.kind == "Canary" and isinstance(provider, str) and provider:
                    document.provider = provider
                found.append(document)
    return found


def validate(documents: list[Document], directory: pathlib.Path) -> None:
    """``serinus validate --mesh-provider P`` on each document, in one run per provider."""
    by_provider: dict[str, list[tuple[pathlib.Path, Document]]] = collections.defaultdict(list)
    for number, document in enumerate(documents):
        path = directory / f"{number:03d}.yaml"
        path.write_text(document.text)
        by_provider[document.provider].append((path, document))
    for provider, members in by_provider.items():
        command = [sys.executable, "-m", "serinus", "validate", "--mesh-provider", provider]
        ran = subprocess.run(
            [*command, *(str(path) for path, _ in members)],
            capture_output=True,
            text=True,
            check=False,
        )
        paths = {str(path): document for path, document in members}
        for line in ran.stdout.splitlines():
            path, _, rest = line.partition(": document ")
            fields = rest.split(": ", 2)  # number, kind namespace/name, verdict
            verdict = fields[-1] if len(fields) == 3 else rest
            if path in paths and verdict != "valid" and not verdict.startswith("note: "):
                paths[path].problems.append(verdict)
        if ran.returncode not in (0, 1):
            raise SystemExit(f"serinus validate failed: {ran.stderr[-2000:]}")


def report(documents: list[Document]) -> None:
    print(f"{'kind':<15}{'found':>7}{'accepted':>10}{'initialized':>13}")
    for kind in KINDS:
        of_kind = [d for d in documents if d.kind == kind]
        accepted = [d for d in of_kind if not d.problems]
        initialized = [d for d in accepted if d.outcome == "Initialized"]
        shown = str(len(initialized)) if kind == "Canary" else "-"
        print(f"{kind:<15}{len(of_kind):>7}{len(accepted):>10}{shown:>13}")
    accepted = sum(not d.problems for d in documents)
    print(f"{'all':<15}{len(documents):>7}{accepted:>10}")
    print("\nrejected by serinus validate (first problem):")
    for document in documents:
        if document.problems:
            print(f"  {document.label}: {document.problems[0]}")
    print("\naccepted Canaries not initialized:")
    for document in documents:
        if (
            document.kind == "Canary"
            and not document.problems
            and document.outcome != "Initialized"
        ):
            print(f"  {document.label} ({document.provider}): {document.outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flagger", type=pathlib.Path, help="a checkout of fluxcd/flagger")
    parser.add_argument("--within", type=float, default=240.0, help="seconds to initialize")
    args = parser.parse_args()
    documents = extract(args.flagger)
    with tempfile.TemporaryDirectory(prefix="flagger-corpus-") as scratch:
        started = time.monotonic()
        validate(documents, pathlib.Path(scratch))
        validated = time.monotonic()
        canaries = [d for d in documents if d.kind == "Canary" and not d.problems]
        from corpus_cluster import initialize  # the sandbox part; imports the test helpers

        outcomes = asyncio.run(
            initialize(
                [d.manifest for d in canaries],
                [d.provider for d in canaries],
                pathlib.Path(scratch),
                within=args.within,
            )
        )
        for document, outcome in zip(canaries, outcomes, strict=True):
            document.outcome = outcome
    initialized = time.monotonic() - validated
    print(f"validate: {validated - started:.1f} s; initialization: {initialized:.1f} s")
    report(documents)


if __name__ == "__main__":
    main()
