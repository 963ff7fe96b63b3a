"""The image recipes in deploy/docker, read as Docker would (no Docker engine is needed).

There is no Docker engine on the machines, so the images are not built here. These tests parse
each Dockerfile (line continuations, comments, ARG defaults in FROM) and check what would break
a build or a pod:
- the final stage starts from python:3.11-slim, runs as a numeric non-root user (so the kubelet
  can enforce ``runAsNonRoot``) equal to the chart's ``runAsUser``, exposes the chart's port, and
  its ENTRYPOINT + CMD is a ``serinus`` subcommand that exists, the one the chart runs;
- every COPY from the build context names a file or folder that exists in the repository and is
  not excluded by the Dockerfile's own .dockerignore, including the readme that pyproject.toml
  names (setuptools needs it to build the wheel); every COPY --from names an earlier stage;
- the load tester image carries hey, curl and kubectl.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import pathlib
import re
import tomllib

import pytest
import yaml

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
    assert base_image(recipe, recipe.last("FROM")) == "python:3.11-slim"
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


def test_loadtester_image_carries_hey_curl_and_kubectl() -> None:
    recipe = dockerfile("loadtester")
    installs = " ".join(run for run in recipe.all("RUN") if "apt-get install" in run)
    assert {"hey", "curl"} <= set(installs.split())
    copies = [arguments.split() for arguments in recipe.all("COPY")]
    assert any(words[-1] == "/usr/local/bin/kubectl" for words in copies)
    kubectl_stage = [line for line in recipe.all("FROM") if line.split()[-1] == "kubectl"]
    assert base_image(recipe, kubectl_stage[0]).startswith("registry.k8s.io/kubectl:v1.")
