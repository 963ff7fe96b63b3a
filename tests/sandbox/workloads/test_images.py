"""The image map (covers ``serinus/sandbox/workloads/images.py`` and the bundled images.yaml).

Covers:
- the bundled map runs podinfo images (with or without a registry) as ``serinus sandbox
  podinfo`` with the pod IP, port and tag, through this Python; the load tester images as
  ``serinus loadtester``; general images as the container's own command and args;
- serinus' own images follow Kubernetes' command/args rules against the ENTRYPOINT and CMD that
  deploy/docker's Dockerfiles declare (so the charts' ``operator ...`` args start ``serinus
  operator ...``), bound to the pod's address unless the container sets --host;
- the first matching entry wins, so a user map in front of the bundled one overrides it;
- an unknown image, and a command-running entry for a container without a command, are errors
  naming the image; a container without ports uses the entry's default port;
- a bad map is refused naming the entry and field (unknown placeholder, missing run, bad port,
  unknown key, not YAML).
"""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

from serinus.errors import SerinusError
from serinus.sandbox.workloads.images import Container, ImageMap, image_tag

SERINUS = [sys.executable, "-m", "serinus"]
DOCKER = pathlib.Path(__file__).resolve().parents[3] / "deploy" / "docker"


def container(image: str, **fields) -> Container:
    defaults = {"pod": "web-1", "namespace": "prod", "container": "app", "pod_ip": "127.244.0.9"}
    return Container(image=image, **{**defaults, **fields})


@pytest.mark.parametrize(
    "image",
    [
        "stefanprodan/podinfo:2.1.0",
        "docker.io/stefanprodan/podinfo:2.1.0",
        "ghcr.io/stefanprodan/podinfo:2.1.0",
        "quay.io/stefanprodan/podinfo:2.1.0",
    ],
)
def test_podinfo_images_run_the_stand_in(image: str) -> None:
    command = ImageMap.bundled().command(container(image, ports=(9898,)))
    assert command == [
        *SERINUS,
        "sandbox",
        "podinfo",
        "--host",
        "127.244.0.9",
        "--port",
        "9898",
        "--version",
        "2.1.0",
    ]


def test_podinfo_without_ports_uses_the_default_port() -> None:
    command = ImageMap.bundled().command(container("stefanprodan/podinfo:6.0.0"))
    assert command[command.index("--port") + 1] == "9898"


@pytest.mark.parametrize(
    "image", ["ghcr.io/fluxcd/flagger-loadtester:0.38.0", "weaveworks/flagger-loadtester:0.18.0"]
)
def test_load_tester_images(image: str) -> None:
    command = ImageMap.bundled().command(container(image, ports=(8080,)))
    assert command == [*SERINUS, "loadtester", "--host", "127.244.0.9", "--port", "8080"]


def dockerfile(name: str) -> tuple[list[str], list[str]]:
    """The ENTRYPOINT and CMD (exec form) a Dockerfile of deploy/docker declares."""
    declared = {"ENTRYPOINT": [], "CMD": []}
    for line in (DOCKER / f"{name}.Dockerfile").read_text().splitlines():
        word, _, rest = line.partition(" ")
        if word in declared:
            declared[word] = json.loads(rest)
    return declared["ENTRYPOINT"], declared["CMD"]


@pytest.mark.parametrize("name", ["operator", "loadtester"])
def test_serinus_images_follow_their_dockerfiles(name: str) -> None:
    entrypoint, cmd = dockerfile(name)
    image = f"serinus/{name}:0.1.0"
    bundled = ImageMap.bundled()
    host = "--host=127.244.0.9"
    # no command, no args: the image's ENTRYPOINT and CMD
    assert bundled.command(container(image)) == [*SERINUS, *entrypoint[1:], *cmd, host]
    # args only (the charts: `operator --port=8080 ...`): ENTRYPOINT + args
    args = (*cmd, "--port=8080")
    assert bundled.command(container(image, args=args)) == [*SERINUS, *cmd, "--port=8080", host]
    # command: replaces the ENTRYPOINT and drops the CMD; args follow it
    found = container(image, command=("sh", "-c"), args=("echo hi",))
    assert bundled.command(found) == ["sh", "-c", "echo hi", host]
    # a --host the container sets itself is kept
    own = container(image, args=(*cmd, "--host=$(POD_IP)"))
    assert bundled.command(own) == [*SERINUS, *cmd, "--host=$(POD_IP)"]


def test_general_images_run_their_own_command() -> None:
    found = container("busybox:1.36", command=("sh", "-c"), args=("echo hi",))
    assert ImageMap.bundled().command(found) == ["sh", "-c", "echo hi"]
    with pytest.raises(SerinusError, match="container 'app' has no command"):
        ImageMap.bundled().command(container("busybox:1.36"))


def test_unknown_image_is_an_error_naming_it() -> None:
    with pytest.raises(SerinusError, match="'nginx:alpine' is not in the sandbox image map"):
        ImageMap.bundled().command(container("nginx:alpine"))


def test_user_map_in_front_wins(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "images.yaml"
    path.write_text(
        "images:\n"
        "  - match: 'stefanprodan/podinfo:*'\n"
        "    run: ['python3', '-m', 'http.server', '--bind', '{pod_ip}', '{port}']\n"
        "  - match: nginx*\n"
        "    run: serinus sandbox podinfo --host {pod_ip} --port {port} --version {tag}\n"
    )
    images = ImageMap.from_file(path) + ImageMap.bundled()
    found = images.command(container("stefanprodan/podinfo:2.1.0", ports=(9898,)))
    assert found == ["python3", "-m", "http.server", "--bind", "127.244.0.9", "9898"]
    assert images.command(container("nginx", ports=(80,)))[-1] == "latest"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("images: [{match: a, run: 'x {nope}'}]", r"images\[0\].run: unknown field \{nope\}"),
        ("images: [{match: a}]", r"images\[0\].run: expected a command line"),
        ("images: [{run: x}]", r"images\[0\].match: expected an image pattern"),
        ("images: [{match: a, run: x, port: 0}]", r"images\[0\].port: expected a port number"),
        ("images: [{match: a, run: x, colour: red}]", r"images\[0\]: unknown field\(s\) colour"),
        ("images: [{match: a, run: x, cmd: [y]}]", r"images\[0\]: expected either `run`"),
        ("images: [{match: a, entrypoint: x}]", r"images\[0\].entrypoint: expected a list"),
        ("images: {}", "expected a mapping with an `images` list"),
        ("images: [", "not YAML"),
    ],
)
def test_bad_maps_are_refused(text: str, message: str) -> None:
    with pytest.raises(SerinusError, match=message):
        ImageMap.parse(text, source="mine.yaml")


def test_missing_file_is_named(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SerinusError, match=r"cannot read image map .*missing\.yaml"):
        ImageMap.from_file(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("podinfo", "latest"),
        ("stefanprodan/podinfo:2.1.0", "2.1.0"),
        ("localhost:5000/podinfo", "latest"),
        ("localhost:5000/podinfo:1.2", "1.2"),
        ("podinfo@sha256:abc", "sha256:abc"),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag
