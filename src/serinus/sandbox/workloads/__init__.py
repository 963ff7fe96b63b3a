"""The sandbox's workload runner: pods as local processes, and the controllers that make them.

In a cluster, the Deployment and ReplicaSet controllers turn a Deployment into pods, the kubelet
runs their containers and reports their status, and the Endpoints controller lists the ready pods
of each Service. :class:`WorkloadRunner` plays all of them against the sandbox's API server,
through :class:`serinus.kube.Kube` like any other client, so ``kubectl get pods``, ``kubectl
logs``, ``kubectl rollout status`` and the operator see what they would see in a cluster::

    runner = WorkloadRunner(kube, pathlib.Path(".sandbox"), ImageMap.bundled())
    api.logs.add(runner.log_source)          # kubectl logs, when the API server is in-process
    task = asyncio.create_task(runner.run())
    ...
    await runner.stop()                      # every pod process is gone when this returns

Images become local commands through the image map (:mod:`images`, bundled ``images.yaml``);
each pod gets its own loopback address (``127.244.0.0/16``) and sees the Service names of its
namespace through a private ``/etc/hosts`` (:mod:`serinus.sandbox.names`); the files live in the
sandbox directory (:mod:`layout`).

Module map: ``runner`` (watches, queue, kubelet dispatch), ``deployments`` + ``rollout`` (the
Deployment controller and its arithmetic), ``replicasets``, ``statefulsets`` (stable pod names,
claims from ``volumeClaimTemplates``, ordered updates), ``endpoints``, ``pods`` and
``containers`` (the kubelet), ``volumes`` (claims and emptyDirs as bind-mounted directories),
``probes``, ``env``, ``process``, ``images``, ``addresses``, ``layout``, ``logfiles`` (the log
source), ``node`` (what pods share), ``queue``.
"""

from serinus.sandbox.workloads.images import ImageMap
from serinus.sandbox.workloads.layout import SandboxDir
from serinus.sandbox.workloads.logfiles import PodLogs
from serinus.sandbox.workloads.runner import WorkloadRunner

__all__ = ["ImageMap", "PodLogs", "SandboxDir", "WorkloadRunner"]
