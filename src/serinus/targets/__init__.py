"""Workload controllers (Deployment, DaemonSet): the primary copy, scaling, readiness, promotion.

They implement :class:`serinus.ports.Target` over :class:`serinus.kube.Kube`; the operator picks
one per Canary with :func:`serinus.targets.registry.target_for`.

Module map: ``registry`` (kind -> controller, no fallback), ``deployment`` and ``daemonset`` (one
controller per kind), ``workload`` (what both share: the primary copy and promotion), ``configs``
(ConfigMap/Secret tracking and copies), ``autoscaler`` (HPA and KEDA ScaledObject copies, pause
and resume), ``readiness`` (rollout status as pure functions), ``revision`` (the pod template
hash), ``labels`` and ``naming`` (what is copied and how things are called), ``finalizer`` (the
revertOnDeletion finalizer on the Canary), ``base`` (required reads, owner references, upsert).

Importing the package has no side effects.
"""
