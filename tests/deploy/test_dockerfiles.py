"""The image recipes in deploy/docker, read as Docker would (no Docker engine is needed).

There is no Docker engine on the machines, so the images are not built here. These tests parse
each Dockerfile (line continuations, comments, ARG defaults in FROM) and check what would break
a build or a pod:
- every image a stage starts from is pinned by digest (``@sha256:`` and 64 hex digits), and pip
  installs under deploy/docker/constraints.txt, which pins every runtime dependency of serinus
  (and theirs) to one version that pyproject.toml accepts;
- the final stage starts from python:3.11-slim, runs as a numeric non-root user (so the kubelet
  can enforce ``runAsNonRoot``) equal to the chart's ``runAsUser``, exposes the chart's port, and
  its ENTRYPOINT + CMD is a ``serinus`` subcommand that exists, the one the chart runs;
- every COPY from the build context names a file or folder that exists in the repository and is
  not excluded by the Dockerfile's own .dockerignore, including the readme that pyproject.toml
  names (setuptools needs it to build the wheel); every COPY --from names an earlier stage;
- the load tester image carries hey, curl, kubectl and helm (for helm/helmv3 tasks).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib.metadata
import json
import pathlib
import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from serinus.cli.main import COMMANDS
from tests.deploy.support import DEPLOY, LOADTESTER_CHART, REPO, SERINUS_CHART

DOCKER = DEPLOY / "docker"
IMAGES = {"operator": SERINUS_CHART, "loadtester": LOADTESTER_CHART}


@dataclasses.dataclass
class Dockerfile:
    instructions: list[tuple[str, str]]
    """(INSTRUCTION, arguments) in order, continuations joined, comments dropped."""

    def all(self, name: str) -> list[str]:
        return [arguments for instruction, arguments in self.instructions if instruction == name]

    def final_stage(self) -> list[tuple[str, str]]:
        starts = [i for i, (name, _) in enumerate(self.instructions) if name == "FROM"]
        return self.instructions[starts[-1] :]

    def last(self, name: str) -> str:
        found = [arguments for instruction, arguments in self.final_stage() if instruction == name]
        assert found, f"the final stage has no {name}"
        return found[-1]


def parse(path: pathlib.Path) -> Dockerfile:
    instructions = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        name, _, arguments = pending.partition(" ")
        instructions.append((name.upper(), arguments.strip()))
        pending = ""
    assert pending == "", f"{path.name} ends inside a continued line"
    return Dockerfile(instructions)


def build_args(dockerfile: Dockerfile) -> dict[str, str]:
    """ARG defaults declared before the first FROM, which FROM lines may use."""
    defaults = {}
    for name, arguments in dockerfile.instructions:
        if name == "FROM":
            break
        if name == "ARG" and "=" in arguments:
            key, _, value = arguments.partition("=")
            defaults[key] = value
    return defaults


def base_image(dockerfile: Dockerfile, from_line: str) -> str:
    image = from_line.split()[0]
    for key, value in build_args(dockerfile).items():
        image = image.replace("${" + key + "}", value)
    return image


def dockerfile(image: str) -> Dockerfile:
    return parse(DOCKER / f"{image}.Dockerfile")


def chart_values(image: str) -> dict[str, object]:
    values: dict[str, object] = yaml.safe_load((IMAGES[image] / "values.yaml").read_text())
    return values


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_final_stage_is_python_slim_as_a_non_root_user(image: str) -> None:
    recipe = dockerfile(image)
    assert base_image(recipe, recipe.last("FROM")).startswith("python:3.11-slim@sha256:")
    user, _, group = recipe.last("USER").partition(":")
    assert user.isdigit(), f"USER {user} must be numeric for the kubelet's runAsNonRoot check"
    assert int(user) != 0
    pod_security = chart_values(image)["podSecurityContext"]
    assert isinstance(pod_security, dict)
    assert int(user) == pod_security["runAsUser"]
    assert int(group or user) == pod_security["runAsGroup"]
    assert recipe.last("EXPOSE") == "8080"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_entrypoint_runs_the_serinus_subcommand_the_chart_runs(image: str) -> None:
    recipe = dockerfile(image)
    assert json.loads(recipe.last("ENTRYPOINT")) == ["serinus"]
    [subcommand] = json.loads(recipe.last("CMD"))
    assert subcommand == image
    assert subcommand in COMMANDS
    deployment = (IMAGES[image] / "templates" / "deployment.yaml").read_text()
    assert re.search(rf"args:\n\s+- {subcommand}\n", deployment)


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore rules (last match wins, ``!`` re-includes) exclude ``path``."""
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        rule = pattern.removeprefix("!").rstrip("/")
        parts = pathlib.PurePosixPath(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, rule) for prefix in prefixes):
            excluded = not negated
    return excluded


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_every_copy_source_exists_and_reaches_the_build(image: str) -> None:
    recipe = dockerfile(image)
    ignore = DOCKER / f"{image}.Dockerfile.dockerignore"
    patterns = [
        line.strip()
        for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    stages = [line.split()[-1] for line in recipe.all("FROM") if " AS " in line.upper()]
    context_sources = []
    for arguments in recipe.all("COPY"):
        words = arguments.split()
        flags = [w for w in words if w.startswith("--")]
        *sources, _destination = [w for w in words if not w.startswith("--")]
        stage = [f.removeprefix("--from=") for f in flags if f.startswith("--from=")]
        if stage:
            assert stage[0] in stages, f"COPY --from={stage[0]}: no such stage"
            continue
        context_sources += sources
    readme = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["readme"]
    assert {"pyproject.toml", readme, "src/"} <= set(context_sources)
    for source in context_sources:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
        assert not ignored(source.rstrip("/"), patterns), (
            f"COPY {source}: excluded by {ignore.name}"
        )
    assert ignored(".venv/bin/python", patterns)


def test_loadtester_image_carries_hey_curl_kubectl_and_helm() -> None:
    recipe = dockerfile("loadtester")
    installs = " ".join(run for run in recipe.all("RUN") if "apt-get install" in run)
    assert {"hey", "curl"} <= set(installs.split())
    copies = [arguments.split() for arguments in recipe.all("COPY")]
    assert any(words[-1] == "/usr/local/bin/kubectl" for words in copies)
    assert any(words[-1] == "/usr/local/bin/helm" for words in copies)
    stages = {line.split()[-1]: base_image(recipe, line) for line in recipe.all("FROM")}
    assert stages["kubectl"].startswith("registry.k8s.io/kubectl:v1.")
    assert stages["helm"].startswith("alpine/helm:3.")


DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
CONSTRAINTS = DOCKER / "constraints.txt"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_every_base_image_is_pinned_by_digest_and_pip_by_constraints(image: str) -> None:
    recipe = dockerfile(image)
    for line in recipe.all("FROM"):
        pinned = base_image(recipe, line)
        if pinned in {stage.split()[-1] for stage in recipe.all("FROM")}:
            continue  # an earlier stage
        assert DIGEST.search(pinned), f"FROM {pinned}: not pinned by digest"
    builds = [run for run in recipe.all("RUN") if "pip wheel" in run]
    assert builds
    assert all("--constraint constraints.txt" in run for run in builds)
    copies = [arguments.split() for arguments in recipe.all("COPY")]
    assert any("deploy/docker/constraints.txt" in words for words in copies)


def pins() -> dict[str, str]:
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version.strip()
    return found


def runtime_closure() -> set[str]:
    """serinus's runtime dependencies and all of theirs (no extras), by canonical name."""
    seen: set[str] = set()
    pending = [
        str(r)
        for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    while pending:
        requirement = Requirement(pending.pop())
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        pending += importlib.metadata.requires(requirement.name) or []
    return seen


def test_constraints_pin_every_runtime_dependency_within_pyproject() -> None:
    pinned = pins()
    missing = runtime_closure() - set(pinned)
    assert not missing, f"not pinned in {CONSTRAINTS.name}: {sorted(missing)}"
    for requirement in tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]:
        wanted = Requirement(requirement)
        version = pinned[canonicalize_name(wanted.name)]
        assert wanted.specifier.contains(version), f"{wanted.name}=={version} is not {wanted}"
