"""``type: helmv3`` and ``type: helm`` through a real load tester: the real ``helm`` binary runs
``helm test`` against the sandbox's API server, whose workload runner runs the test pod.

Covers:
- a release whose test pod exits 0: 200, and the pod ran (phase Succeeded); ``type: helm`` is
  the same task (Flagger maps both to Helm 3); ``returnCmdOutput`` returns helm's report;
- a release whose test pod fails: 500 with helm's error;
- with ``--allow-command`` rules, ``helm test smoke -n prod`` runs and ``helm uninstall`` is
  refused (403) and the release is still installed;
- two identical calls at once run one ``helm test`` (the second waits for it) and both pass.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
from collections.abc import AsyncIterator

import pytest

from serinus.kube import Kube, KubeSettings
from serinus.sandbox.apiserver import ApiServer
from serinus.sandbox.workloads import ImageMap, WorkloadRunner

CHART = pathlib.Path(__file__).parent / "charts" / "smoke"
HELM_SECONDS = 120.0


@pytest.fixture
async def cluster(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Kube, pathlib.Path]]:
    """An API server, its workload runner, namespace prod, and a kubeconfig for helm."""
    async with (
        ApiServer(port=0, service_cidr="127.96.0.0/12") as api,
        Kube(KubeSettings(server=api.url)) as kube,
    ):
        await kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod"}})
        sandbox = tmp_path / "sandbox"
        kubeconfig = api.write_kubeconfig(sandbox / "kubeconfig")
        runner = WorkloadRunner(kube, sandbox, ImageMap.bundled(), pod_cidr="127.245.7.0/24")
        api.logs.add(runner.log_source)
        running = asyncio.create_task(runner.run())
        # helm (run by the test and by the load tester) finds the cluster and keeps its caches here.
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        for variable in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
            monkeypatch.setenv(variable, str(tmp_path / "helm" / variable))
        try:
            yield kube, kubeconfig
        finally:
            await runner.stop()
            await running


async def helm(*args: str) -> tuple[int, str]:
    binary = shutil.which("helm")
    assert binary, "helm is not installed (scripts/system-packages.sh installs it)"
    process = await asyncio.create_subprocess_exec(
        binary, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=dict(os.environ),
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), HELM_SECONDS)
    return process.returncode or 0, out.decode()


async def install(name: str, *values: str) -> None:
    code, out = await helm("install", name, str(CHART), "-n", "prod", *values)
    assert code == 0, out


async def test_a_passing_helm_test_answers_200(cluster, loadtester):
    kube, _ = cluster
    await install("smoke")

    passed = await loadtester.task(
        {"type": "helmv3", "cmd": "test smoke -n prod", "returnCmdOutput": "true"},
        namespace="prod",
    )
    as_helm = await loadtester.task({"type": "helm", "cmd": "test smoke -n prod"}, namespace="prod")

    assert passed.status_code == 200, passed.text
    assert "smoke-smoke" in passed.text
    assert as_helm.status_code == 200, as_helm.text
    pod = await kube.get("v1", "Pod", "smoke-smoke", "prod")
    assert pod is not None
    assert pod["status"]["phase"] == "Succeeded"


async def test_a_failing_helm_test_answers_500(cluster, loadtester):
    await install("broken", "--set", "exitCode=3")

    failed = await loadtester.task(
        {"type": "helmv3", "cmd": "test broken -n prod"}, namespace="prod"
    )

    assert failed.status_code == 500
    assert "command helm test broken -n prod failed" in failed.text
    assert "broken-smoke" in failed.text


async def test_rules_allow_helm_test_and_refuse_the_rest(cluster, loadtester_factory):
    await install("smoke")
    tester = await loadtester_factory(allow=(r"helm test smoke -n prod",))

    uninstall = await tester.task(
        {"type": "helmv3", "cmd": "uninstall smoke -n prod"}, namespace="prod"
    )
    passed = await tester.task({"type": "helmv3", "cmd": "test smoke -n prod"}, namespace="prod")

    assert uninstall.status_code == 403
    assert passed.status_code == 200, passed.text
    code, out = await helm("status", "smoke", "-n", "prod")
    assert code == 0, out


async def test_identical_calls_share_one_helm_test(cluster, loadtester):
    await install("smoke")
    task = {"type": "helmv3", "cmd": "test smoke -n prod"}

    first, second = await asyncio.gather(
        loadtester.task(task, namespace="prod"),
        loadtester.task(task, namespace="prod", name="other"),
    )

    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    samples = await loadtester.metrics()
    assert samples[("serinus_loadtester_commands_started_total", (("type", "helmv3"),))] == 1
