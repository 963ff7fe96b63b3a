"""``up --gitops``'s settings handed to the detached supervisor and the ``gitops`` part (covers
``Settings.words`` in ``serinus/sandbox/gitops/applier.py`` with the CLI's options).

Covers: the options the settings write read back as the same repository and interval (an hour,
a minute and a half, a second and a half), so the parts apply what ``up`` was asked.
"""

from __future__ import annotations

import pathlib

import click
import pytest
from click.testing import CliRunner

from serinus.cli.sandbox_servers import GITOPS_INTERVAL_OPTION, GITOPS_OPTION
from serinus.sandbox.gitops import Settings


@click.command()
@GITOPS_OPTION
@GITOPS_INTERVAL_OPTION
def read(gitops: pathlib.Path, gitops_interval: float) -> None:
    click.echo(f"{gitops} {gitops_interval}")


@pytest.mark.parametrize("interval", [3600.0, 90.0, 1.5])
def test_the_settings_read_back_as_the_options_that_made_them(
    tmp_path: pathlib.Path, interval: float
) -> None:
    done = CliRunner().invoke(read, Settings(tmp_path / "fleet", interval).words())
    assert done.exit_code == 0, done.output
    assert done.output.split() == [str(tmp_path / "fleet"), str(interval)]
