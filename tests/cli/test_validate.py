"""`serinus validate`: one line per problem, exit codes, several files.

Covers: the seed's Canary and a typical v1beta1 file pass with exit 0; a file with several bad
documents prints file, document number, kind namespace/name, field path, expected and found for
each problem and exits 1 after reading everything; a missing file is reported and the other files
are still checked; usage errors exit 2; a Canary is also held to what its provider's router can
do (``spec.provider``, else ``--mesh-provider``), and a provider without a router is named.
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


def test_a_canary_is_held_to_what_its_router_can_do(tmp_path: pathlib.Path) -> None:
    header = "apiVersion: flagger.app/v1beta1\nkind: Canary\n"
    body = (
        "  targetRef: {kind: Deployment, name: podinfo}\n  service: {port: 9898}\n"
        "  analysis: {interval: 10s, iterations: 5, match: [{headers: {x: {exact: '1'}}}]}\n"
    )
    canaries = tmp_path / "canaries.yaml"
    canaries.write_text(
        f"{header}metadata: {{name: ab, namespace: prod}}\nspec:\n  provider: linkerd\n{body}"
        f"---\n{header}metadata: {{name: default, namespace: prod}}\nspec:\n{body}"
        f"---\n{header}metadata: {{name: other, namespace: prod}}\nspec:\n  provider: traefik\n"
        f"{body}"
    )
    result = _run(str(canaries))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{canaries}: document 1: Canary prod/ab: spec.analysis.match: A/B testing needs a "
        "provider that matches requests (appmesh, contour, gatewayapi, gloo, istio, nginx), found "
        "provider linkerd, which splits traffic by weight only",
        f"{canaries}: document 2: Canary prod/default: valid",
        f"{canaries}: document 3: Canary prod/other: spec.analysis.match: A/B testing needs a "
        "provider that matches requests (appmesh, contour, gatewayapi, gloo, istio, nginx), found "
        "provider traefik, which splits traffic by weight only",
    ]
    smi_default = _run("--mesh-provider", "osm", "--quiet", str(canaries))
    assert f"{canaries}: document 2: Canary prod/default: spec.analysis.match" in smi_default.stdout
    unknown = _run("--mesh-provider", "consul", "--quiet", str(canaries))
    assert (
        f"{canaries}: document 2: Canary prod/default: --mesh-provider: provider consul is not "
        "supported"
    ) in unknown.stdout.splitlines()


def _canary(name: str, spec: str) -> str:
    return (
        f"---\napiVersion: flagger.app/v1beta1\nkind: Canary\n"
        f"metadata: {{name: {name}, namespace: prod}}\nspec:\n{spec}"
    )


def test_a_feature_the_router_lacks_is_an_error_naming_feature_and_provider(
    tmp_path: pathlib.Path,
) -> None:
    target = "  targetRef: {kind: Deployment, name: podinfo}\n  service: {port: 9898}\n"
    canaries = tmp_path / "canaries.yaml"
    canaries.write_text(
        _canary(
            "mirror",
            f"  provider: nginx\n  ingressRef: {{name: podinfo}}\n{target}"
            "  analysis: {interval: 10s, iterations: 5, mirror: true}\n",
        )
        + _canary(
            "ab",
            f"  provider: kubernetes\n{target}"
            "  analysis: {interval: 10s, iterations: 5, match: [{headers: {x: {exact: '1'}}}]}\n",
        )
    )
    result = _run("--quiet", str(canaries))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{canaries}: document 1: Canary prod/mirror: spec.analysis.mirror: traffic mirroring "
        "needs a provider that mirrors requests (gatewayapi, istio), found provider nginx, which "
        "cannot mirror",
        f"{canaries}: document 2: Canary prod/ab: spec.analysis.match: A/B testing needs a "
        "provider that matches requests (appmesh, contour, gatewayapi, gloo, istio, nginx), found "
        "provider kubernetes, which switches all traffic at once through the apex Service "
        "(blue/green)",
    ]


def test_deliberate_differences_from_flagger_are_notes(tmp_path: pathlib.Path) -> None:
    canaries = tmp_path / "canaries.yaml"
    canaries.write_text(
        _canary(
            "capped",
            "  provider: contour\n  targetRef: {kind: Deployment, name: podinfo}\n"
            "  service: {port: 9898}\n  analysis: {interval: 10s, maxWeight: 50, stepWeight: 20}\n",
        )
        + _canary(
            "knative",
            "  provider: knative\n"
            "  targetRef: {apiVersion: serving.knative.dev/v1, kind: Service, name: podinfo}\n"
            "  analysis: {interval: 15s, maxWeight: 50, stepWeight: 10}\n",
        )
    )
    result = _run(str(canaries))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        f"{canaries}: document 1: Canary prod/capped: valid",
        f"{canaries}: document 1: Canary prod/capped: note: spec.analysis.maxWeight: 50 is not a "
        "multiple of stepWeight 20; serinus's last step routes 50/50 (primary/canary), where "
        "Flagger steps past the maximum to 40/60",
        f"{canaries}: document 2: Canary prod/knative: valid",
    ]
    assert "note:" not in _run("--quiet", str(canaries)).stdout
