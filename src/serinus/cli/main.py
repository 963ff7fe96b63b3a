"""The ``serinus`` command group.

Subcommands live one per module in this package and are imported only when used, so ``serinus
--help`` stays fast and a command's heavy imports (the API server, Prometheus clients) cost nothing
to the others. Exit codes: 0 ok, 1 failure, 2 usage error.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from serinus import __version__

# name -> (module in serinus.cli, attribute, one-line help shown by `serinus --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("validate", "validate", "Check Canary, MetricTemplate and AlertProvider files."),
    "rehearse": ("rehearse", "rehearse", "Play a Canary against a scripted timeline."),
    "crds": ("crds", "crds", "Write the CustomResourceDefinitions generated from the models."),
    "operator": ("operator", "operator", "Run the operator against a Kubernetes API server."),
    "loadtester": ("loadtester", "loadtester", "Run the load tester (Flagger's loadtester API)."),
    "sandbox": ("sandbox", "sandbox", "A local stand-in for a cluster: API server, pods, mesh."),
    "demo": ("demo", "demo", "Play the seed's canary releases in the sandbox."),
    "backtest": ("backtest", "backtest", "Replay a Canary's analysis over recorded metrics."),
    "get": ("canaries", "get", "List Canaries: phase, weight, step, failed checks."),
    "status": ("canaries", "status", "Show one Canary's run; -w to watch, --wait for pipelines."),
    "promote": ("control", "promote", "Promote the canary now, through the promotion steps."),
    "abort": ("control", "abort", "Roll the run back now."),
    "pause": ("control", "pause", "Hold the run at its current weight."),
    "resume": ("control", "resume", "Continue a paused run."),
    "retry": ("control", "retry", "Run a Failed revision again."),
    "skip-analysis": ("control", "skip_analysis", "Promote the current revision unjudged."),
    "report": ("report", "report", "Save one run's timeline as a standalone HTML page."),
}

OPERATING = (
    "get", "status", "promote", "abort", "pause", "resume", "retry", "skip-analysis", "report"
)  # fmt: skip
"""The commands ``kubectl serinus`` offers: the ones that operate Canaries."""


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    offered: tuple[str, ...] | None = None
    """The commands offered; all of them when None."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        present = [
            name
            for name, (module, _, _) in COMMANDS.items()
            if importlib.util.find_spec(f"serinus.cli.{module}") is not None
            and (self.offered is None or name in self.offered)
        ]
        return sorted(present)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or cmd_name not in self.list_commands(ctx):
            return None
        module_name, attribute, _ = entry
        module = importlib.import_module(f"serinus.cli.{module_name}")
        command = getattr(module, attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"serinus.cli.{module_name}.{attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="serinus")
def main() -> None:
    """serinus: progressive delivery for Kubernetes.

    It reads Flagger's Canary resources unchanged, shifts traffic to a new version step by step and
    promotes it or rolls it back from metrics and webhooks.
    """


class KubectlGroup(LazyGroup):
    offered = OPERATING


@click.group(cls=KubectlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubectl-serinus")
def kubectl_plugin() -> None:
    """kubectl serinus: watch and control serinus' canary releases.

    Installed with serinus as the kubectl-serinus command, which kubectl finds on PATH. It reads
    the same kubeconfig as kubectl ($KUBECONFIG or ~/.kube/config) and takes -n like kubectl.
    """


def kubectl_main() -> None:
    """The ``kubectl-serinus`` console script."""
    kubectl_plugin(prog_name="kubectl serinus")
