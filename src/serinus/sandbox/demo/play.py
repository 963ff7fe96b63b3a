"""Running the demo: a sandbox to play in, the story, its view, and the summary at the end.

:func:`run` plays in the sandbox running in the directory, or starts one there first (and stops
it again at the end unless told to keep it), so ``make demo`` needs nothing but the machine's
packages. On a terminal the story is shown live; otherwise as lines. It returns whether both
releases ended as the seed says they do: 2.1.1 promoted, 2.1.2 rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import pathlib
from collections.abc import Mapping

from rich.console import Console

from serinus.kube import Kube, KubeSettings
from serinus.sandbox.demo import summary
from serinus.sandbox.demo.releases import Release
from serinus.sandbox.demo.story import Settings, Story
from serinus.sandbox.demo.view import LiveView, PlainView
from serinus.sandbox.orchestration import down, processes, state, up


async def run(
    directory: pathlib.Path,
    *,
    interval: float,
    console: Console,
    mesh_provider: str = "linkerd",
    environment: Mapping[str, str],
    keep: bool = False,
) -> bool:
    """Play the story in the sandbox in ``directory``; True when both outcomes match the seed."""
    directory = state.canonical(directory)
    started_here = False
    if not _running(directory):
        console.print(f"No sandbox runs in {directory}: starting one (serinus sandbox up)")
        await up.start(
            directory,
            environment=environment,
            progress=lambda text: console.print(f"  {text}"),
        )
        started_here = True
    try:
        recorded = state.load(directory)
        assert recorded is not None
        settings = Settings(
            directory,
            interval,
            prometheus=recorded.details.get("prometheus", ""),
            mesh_provider=mesh_provider,
            environment=dict(environment),
        )
        releases, primary, deviations = await _play(recorded.kubeconfig, settings, console)
    finally:
        if started_here and not keep:
            console.print("Stopping the sandbox the demo started (serinus sandbox down)")
            await asyncio.to_thread(down.stop, directory)
    for line in summary.lines(releases, primary):
        style = "bold" if line == "Summary" else None
        if "(NOT as the seed)" in line:
            style = "bold red"
        elif "(as the seed)" in line:
            style = "bold green"
        console.print(line, style=style, highlight=False, soft_wrap=True)
    for text in deviations:
        console.print(f"Differs from the seed: {text}", highlight=False)
    if started_here and keep:
        console.print(f"The sandbox keeps running: export KUBECONFIG={directory}/kubeconfig")
    return all(release.outcome == release.expected for release in releases)


def _running(directory: pathlib.Path) -> bool:
    recorded = state.load(directory)
    return recorded is not None and any(
        processes.alive(part.pid) for part in recorded.parts.values()
    )


async def _play(
    kubeconfig: pathlib.Path, settings: Settings, console: Console
) -> tuple[list[Release], str, list[str]]:
    story_ref: list[Story] = []
    title = (
        f"serinus demo: the seed's canary releases in the sandbox (interval {settings.interval:g}s)"
    )
    async with Kube(KubeSettings(kubeconfig=kubeconfig)) as kube:
        if console.is_terminal:
            live = LiveView(story_ref, console, title=title)
            view: LiveView | PlainView = live
            context: contextlib.AbstractContextManager[object] = live
        else:
            view = PlainView(story_ref, console)
            console.print(title)
            context = contextlib.nullcontext()
        story = Story(kube, settings, say=view.say, note=view.note, on_change=view.refresh)
        story_ref.append(story)
        with context:
            releases = await story.play()
        view.refresh()
    return releases, story.primary_image, story.deviations
