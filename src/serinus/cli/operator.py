"""``serinus operator``: run the operator against a Kubernetes API server.

Flags mirror Flagger's (``-mesh-provider``, ``-metrics-server``, ``-namespace``,
``-enable-leader-election``...) in both spellings, single dash as Flagger writes them and double
dash, so a Flagger Deployment's arguments carry over. The Slack and Teams settings may also come
from Flagger's environment variables (SLACK_URL, MSTEAMS_URL...).

The options are built from the fields of :class:`~serinus.operator.settings.OperatorSettings`
(:func:`settings_options`): each field's metadata names its flag and help, and its default is the
option's, so a default is written once. The command itself receives the settings, typed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import pathlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

import click

from serinus.apis.base import format_duration
from serinus.cli import common
from serinus.kube.config import KubeSettings
from serinus.operator import runner
from serinus.operator.settings import IGNORED_FLAGS, NotifierSettings, OperatorSettings

logger = logging.getLogger("serinus.operator")

Command = Callable[[OperatorSettings], None]


def settings_options(command: Command) -> Callable[..., None]:
    """The options of every flagged settings field, and the command called with the settings."""

    @functools.wraps(command)
    def with_settings(**params: Any) -> None:
        for name, why in IGNORED_FLAGS.items():
            if params.pop(name.replace("-", "_")) is not None:
                logger.warning(
                    "-%s is accepted for Flagger compatibility and ignored: %s", name, why
                )
        command(_settings(params))

    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        _option("kubeconfig", "kubeconfig", "Path to a kubeconfig; in-cluster when omitted.",
                type=click.Path(path_type=pathlib.Path)),
        _option("context", "kube_context", "The kubeconfig context to use."),
        _option("server", "server", "API server URL used without credentials (sandbox, tests)."),
    ]  # fmt: skip
    for field in [*_flagged(OperatorSettings), *_flagged(NotifierSettings)]:
        options.append(_field_option(field))
    for name in IGNORED_FLAGS:
        options.append(click.option(f"--{name}", f"-{name}", hidden=True, default=None))
    wrapped: Callable[..., Any] = with_settings
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def _flagged(settings: type[Any]) -> Iterator[dataclasses.Field[Any]]:
    for field in dataclasses.fields(settings):
        if "flag" in field.metadata:
            yield field


def _option(
    name: str, param: str, text: str, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option written --name or, as Flagger writes it, -name."""
    return click.option(f"--{name}", f"-{name}", param, help=text, **options)


def _field_option(
    field: dataclasses.Field[Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The option of one settings field, its default the field's."""
    spec = field.metadata["flag"]
    name, text, kind = spec["name"], spec["help"], spec["kind"]
    default: Any = field.default
    if kind == "switch":
        return click.option(f"--{name}/--{spec['off']}", field.name, default=default, help=text)
    if kind == "flag":
        return _option(name, field.name, text, is_flag=True, default=default)
    if kind == "list":
        return _option(name, field.name, text, default=",".join(default),
                       show_default=bool(default), callback=_words)  # fmt: skip
    if kind == "port":
        return _option(name, field.name, text, type=click.IntRange(0, 65535), default=default,
                       show_default=True)  # fmt: skip
    if kind == "count":
        return _option(name, field.name, text, type=click.IntRange(min=0), default=default,
                       show_default=True)  # fmt: skip
    if kind == "duration":
        return _option(name, field.name, text, default=format_duration(default),
                       show_default=True, callback=common.duration("10s or 1m"))  # fmt: skip
    return _option(name, field.name, text, default=default, show_default=bool(default),
                   envvar=spec["env"])  # fmt: skip


def _words(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    """A comma-separated flag as its words."""
    return tuple(word.strip() for word in (value or "").split(",") if word.strip())


def _settings(params: dict[str, Any]) -> OperatorSettings:
    """The settings from the parsed options (the environment only for in-cluster defaults)."""
    kube = KubeSettings(
        server=params.pop("server") or None,
        kubeconfig=params.pop("kubeconfig"),
        context=params.pop("kube_context") or None,
        service_host=os.environ.get("KUBERNETES_SERVICE_HOST"),
        service_port=os.environ.get("KUBERNETES_SERVICE_PORT"),
    )
    notifier = NotifierSettings(**{f.name: params.pop(f.name) for f in _flagged(NotifierSettings)})
    fields = {f.name: params.pop(f.name) for f in _flagged(OperatorSettings)}
    fields["identity"] = fields["identity"] or f"{socket.gethostname()}-{os.getpid()}"
    try:
        return OperatorSettings(kube=kube, notifier=notifier, **fields)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


@click.command()
@common.log_options(default_format="json", flagger_spelling=True)
@settings_options
def operator(settings: OperatorSettings) -> None:
    """Watch Canaries and run their canary releases (Flagger-compatible flags)."""
    with contextlib.suppress(KeyboardInterrupt), common.click_errors():
        # (KeyboardInterrupt: SIGINT before the loop handles signals)
        common.run_until_signal(lambda stop: runner.run(settings, stop=stop), fast_loop=True)
