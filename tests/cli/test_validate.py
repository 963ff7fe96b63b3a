"""`serinus validate`: one line per problem, exit codes, several files.

Covers: the seed's Canary and a typical v1beta1 file pass with exit 0; a file with several bad
documents prints file, document number, kind namespace/name, field path, expected and found for
each problem and exits 1 after reading everything; a missing file is reported and the other files
are still checked; usage errors exit 2.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

from tests.apis.test_documents import TYPICAL

EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serinus", "validate", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_valid_files_exit_zero(tmp_path: pathlib.Path) -> None:
    typical = tmp_path / "typical.yaml"
    typical.write_text(TYPICAL)
    result = _run(str(EXAMPLES / "podinfo-canary.yaml"), str(typical))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{typical}: document 4: Canary test/podinfo: valid" in result.stdout


def test_every_problem_is_a_line_and_the_exit_code_is_one(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: a, namespace: prod}\n"
        "spec:\n  service: {port: http}\n  analysis: {interval: 10s, stepWeight: 5}\n"
        "---\n"
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: b, namespace: prod}\n"
        "spec:\n  targetRef: {kind: Deployment, name: b}\n  service: {port: 80}\n"
        "  analysis: {interval: 10s, stepWeight: 500}\n"
    )
    missing = tmp_path / "missing.yaml"
    result = _run(str(bad), str(missing), str(EXAMPLES / "podinfo-canary.yaml"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    first = f"{bad}: document 1: Canary prod/a:"
    assert (
        f"{first} spec.targetRef: expected a value (the field is required), found nothing" in lines
    )
    assert f"{first} spec.service.port: expected an integer, found 'http'" in lines
    second = f"{bad}: document 2: Canary prod/b: spec.analysis.stepWeight: "
    assert any(line.startswith(second) for line in lines)
    assert f"{missing}: cannot read" in result.stderr
    assert any(line.endswith("Canary prod/podinfo: valid") for line in lines)


def test_usage_errors_exit_two() -> None:
    assert _run().returncode == 2
    assert _run("--no-such-flag", "x.yaml").returncode == 2
