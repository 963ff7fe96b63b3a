"""``kubectl exec`` into the sandbox's pods (covers ``serinus/sandbox/orchestration/podexec.py``).

Covers: a command exec'd into a pod sees the pod's volumes at their mount paths even when one
of them is an emptyDir over ``/tmp`` and the sandbox itself lives under ``/tmp`` (the chart's
load tester mounts ``/tmp`` and ``/var/lib/loadtester``; pytest's directories are in ``/tmp``):
the mount over ``/tmp`` must come last, or the other mounts' sources are hidden and the exec
fails before the command starts. It also sees the pod's ServiceAccount token, as a container does.
"""

from __future__ import annotations

import asyncio
import pathlib
import uuid
from collections.abc import Iterator

import pytest

from serinus.sandbox.apiserver import ExecRequest
from serinus.sandbox.orchestration.podexec import PodExec
from serinus.sandbox.workloads import SandboxDir, serviceaccount


def load_tester_pod(name: str, state: str) -> dict:
    """A Running pod with the chart's volumes: an emptyDir at /tmp, another at ``state``."""
    return {
        "metadata": {"name": name, "namespace": "prod"},
        "spec": {
            "containers": [
                {
                    "name": "loadtester",
                    "volumeMounts": [
                        {"name": "tmp", "mountPath": "/tmp"},
                        {"name": "state", "mountPath": state},
                    ],
                }
            ],
            "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "state", "emptyDir": {}}],
        },
        "status": {"phase": "Running"},
    }


async def run(source: PodExec, pod: dict, script: str) -> tuple[int, str]:
    request = ExecRequest(
        namespace="prod",
        pod=pod["metadata"]["name"],
        container="loadtester",
        command=("sh", "-c", script),
        pod_object=pod,
    )
    process = await source(request)
    assert process is not None
    assert process.stdout is not None
    assert process.stderr is not None
    out, err, code = await asyncio.gather(
        process.stdout.read(), process.stderr.read(), process.wait()
    )
    return code, (out + err).decode()


@pytest.fixture
def mount_point() -> Iterator[pathlib.Path]:
    """A mount point outside /tmp; the bind mount makes it on the machine, so it is removed."""
    path = pathlib.Path(f"/var/lib/serinus-test-{uuid.uuid4().hex[:8]}")
    yield path
    if path.is_dir():
        path.rmdir()


def test_exec_sees_every_volume_when_an_emptydir_covers_tmp(
    tmp_path: pathlib.Path, mount_point: pathlib.Path
) -> None:
    assert str(tmp_path).startswith("/tmp/")
    layout = SandboxDir(tmp_path / "sandbox")
    name = "load-tester-0"
    home = layout.pod("prod", name)
    home.mkdir(parents=True)
    layout.hosts("prod").parent.mkdir(parents=True)
    layout.hosts("prod").write_text("127.0.0.1\tlocalhost\n")
    (home / "serviceaccount").mkdir()
    (home / "serviceaccount" / "namespace").write_text("prod")
    pod = load_tester_pod(name, str(mount_point))

    script = (
        f"echo kept > {mount_point}/gates.json && touch /tmp/scratch && ls /tmp && "
        f"cat {mount_point}/gates.json {serviceaccount.MOUNT}/namespace"
    )
    code, said = asyncio.run(run(PodExec(layout.root), pod, script))

    assert code == 0, said
    assert said.split() == ["scratch", "kept", "prod"]
    volumes = home / "volumes"
    assert (volumes / "state" / "gates.json").read_text() == "kept\n"
    assert (volumes / "tmp" / "scratch").exists()
    assert not (mount_point / "gates.json").exists()
