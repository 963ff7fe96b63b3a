"""The image map: which local command stands in for a container image.

A cluster pulls ``stefanprodan/podinfo:2.1.0`` and runs it; the sandbox looks the image up in a
small YAML map (the bundled ``images.yaml``, optionally preceded by the user's own) and runs the
command it gives, e.g. ``serinus sandbox podinfo --host {pod_ip} --port {port} --version {tag}``.
The file format is documented at the top of ``images.yaml``.

An image that maps to nothing is an error the user sees on the pod (the kubelet shows the
:class:`~serinus.errors.SerinusError` raised here as ErrImagePull), never a silent skip or a
guessed command. A map with a bad entry is
refused when it is loaded, naming the entry and the field, so mistakes show before any pod runs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib.resources
import pathlib
import shlex
import string
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Self

import yaml

from serinus.errors import SerinusError

FIELDS = frozenset({"pod_ip", "port", "tag", "image", "pod", "namespace", "container"})
LISTS = frozenset({"{command}", "{args}"})
BUNDLED = "images.yaml"


@dataclasses.dataclass(frozen=True)
class Container:
    """What a command template is filled with: one container of one pod."""

    image: str
    pod: str
    namespace: str
    container: str
    pod_ip: str
    ports: tuple[int, ...] = ()
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Entry:
    patterns: tuple[str, ...]
    run: tuple[str, ...] = ()
    port: int | None = None
    source: str = ""
    entrypoint: tuple[str, ...] | None = None
    """The image's ENTRYPOINT and CMD, as its Dockerfile declares them (``image`` entries)."""
    cmd: tuple[str, ...] = ()
    append: tuple[str, ...] = ()
    """Words added after an image entry's resolved command line, unless already given."""

    def matches(self, image: str) -> bool:
        return any(fnmatch.fnmatchcase(image, pattern) for pattern in self.patterns)

    def command(self, container: Container) -> list[str]:
        if self.entrypoint is not None:
            return self._image_command(container)
        values = self._values(container)
        words: list[str] = []
        for index, word in enumerate(self.run):
            if word == "{command}":
                if not container.command:
                    raise SerinusError(
                        f"image {container.image!r} runs the container's command ({self.source}), "
                        f"but container {container.container!r} has no command"
                    )
                words += container.command
            elif word == "{args}":
                words += container.args
            elif index == 0 and word == "serinus":
                words += [sys.executable, "-m", "serinus"]
            else:
                words.append(word.format_map(values))
        return words

    def _image_command(self, container: Container) -> list[str]:
        """Kubernetes' rule: ``command`` replaces the ENTRYPOINT (and drops the CMD), ``args``
        replace the CMD; then the entry's ``append`` words the line does not set already."""
        if container.command:
            words = [*container.command, *container.args]
        else:
            words = [*(self.entrypoint or ()), *(container.args or self.cmd)]
        if not words:
            raise SerinusError(
                f"image {container.image!r} has no entrypoint ({self.source}) and container "
                f"{container.container!r} no command"
            )
        values = self._values(container)
        for word in self.append:
            added = word.format_map(values)
            flag = added.split("=", 1)[0]
            if not any(w == flag or w.startswith(flag + "=") for w in words):
                words.append(added)
        if words[0] == "serinus":
            words[:1] = [sys.executable, "-m", "serinus"]
        return words

    def _values(self, container: Container) -> dict[str, str]:
        return {
            "pod_ip": container.pod_ip,
            "port": str(_port(self, container)),
            "tag": image_tag(container.image),
            "image": container.image,
            "pod": container.pod,
            "namespace": container.namespace,
            "container": container.container,
        }


def _port(entry: Entry, container: Container) -> int | str:
    if container.ports:
        return container.ports[0]
    if entry.port is not None:
        return entry.port
    if any("{port}" in word for word in entry.run):
        raise SerinusError(
            f"image {container.image!r} needs a port ({entry.source}): declare "
            f"spec.containers[].ports on container {container.container!r}"
        )
    return ""


def normalise(image: str) -> str:
    """The image without Docker Hub's implied registry prefixes."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/"):
        if image.startswith(prefix):
            return image[len(prefix) :]
    return image


def image_tag(image: str) -> str:
    """The tag of an image reference; ``latest`` when it has none (digests are kept whole)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    return image.split("@", 1)[1] if "@" in image else "latest"


@dataclasses.dataclass(frozen=True)
class ImageMap:
    """An ordered list of entries; the first that matches an image wins."""

    entries: tuple[Entry, ...]

    @classmethod
    def bundled(cls) -> Self:
        text = importlib.resources.files(__package__).joinpath(BUNDLED).read_text()
        return cls.parse(text, source=f"bundled {BUNDLED}")

    @classmethod
    def from_file(cls, path: pathlib.Path) -> Self:
        try:
            text = path.read_text()
        except OSError as error:
            raise SerinusError(f"cannot read image map {path}: {error.strerror}") from None
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, *, source: str) -> Self:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise SerinusError(f"{source}: not YAML: {error}") from None
        images = document.get("images") if isinstance(document, dict) else None
        if not isinstance(images, list):
            raise SerinusError(f"{source}: expected a mapping with an `images` list")
        return cls(tuple(_entry(item, f"{source}, images[{i}]") for i, item in enumerate(images)))

    def __add__(self, other: ImageMap) -> ImageMap:
        """This map's entries first, then ``other``'s (a user map in front of the bundled one)."""
        return ImageMap(self.entries + other.entries)

    def command(self, container: Container) -> list[str]:
        """The local command for ``container``; SerinusError when nothing maps it."""
        image = normalise(container.image)
        for entry in self.entries:
            if entry.matches(image):
                return entry.command(container)
        sources = sorted({entry.source.split(", images[")[0] for entry in self.entries})
        raise SerinusError(
            f"image {container.image!r} is not in the sandbox image map "
            f"({', '.join(sources) or 'empty'}): add an entry mapping it to a local command"
        )


def _entry(item: Any, where: str) -> Entry:
    if not isinstance(item, Mapping):
        raise SerinusError(f"{where}: expected a mapping with `match` and `run`")
    patterns = item.get("match")
    if isinstance(patterns, str):
        patterns = [patterns]
    if not _strings(patterns) or not patterns:
        raise SerinusError(f"{where}.match: expected an image pattern or a list of them")
    port = item.get("port")
    if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
        raise SerinusError(f"{where}.port: expected a port number, got {port!r}")
    unknown = set(item) - {"match", "run", "port", "entrypoint", "cmd", "append"}
    if unknown:
        raise SerinusError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if "run" in item and ("entrypoint" in item or "cmd" in item):
        raise SerinusError(f"{where}: expected either `run` or `entrypoint`/`cmd`, found both")
    if "entrypoint" in item or "cmd" in item:
        entrypoint, cmd, append = (
            _words(item, key, where) for key in ("entrypoint", "cmd", "append")
        )
        return Entry(tuple(patterns), (), port, where, tuple(entrypoint), tuple(cmd), tuple(append))
    run = item.get("run")
    words = shlex.split(run) if isinstance(run, str) else run
    if not _strings(words) or not words:
        raise SerinusError(f"{where}.run: expected a command line or a list of words, got {run!r}")
    for word in words:
        _check_fields(word, f"{where}.run")
    if "append" in item:
        raise SerinusError(f"{where}.append: only image entries (entrypoint/cmd) append words")
    return Entry(tuple(patterns), tuple(words), port, where)


def _words(item: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = item.get(key, [])
    if not _strings(value) or isinstance(value, str):
        raise SerinusError(f"{where}.{key}: expected a list of words (exec form), got {value!r}")
    for word in value:
        if key == "append":
            _check_fields(word, f"{where}.{key}")
    return list(value)


def _strings(value: Any) -> bool:
    return isinstance(value, Sequence) and all(isinstance(v, str) for v in value)


def _check_fields(word: str, where: str) -> None:
    if word in LISTS:
        return
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(word) if name is not None]
    except ValueError as error:
        raise SerinusError(f"{where}: {word!r}: {error}") from None
    for name in names:
        if name not in FIELDS:
            allowed = ", ".join(sorted(f"{{{f}}}" for f in FIELDS | {"command", "args"}))
            raise SerinusError(f"{where}: unknown field {{{name}}} in {word!r}; known: {allowed}")
