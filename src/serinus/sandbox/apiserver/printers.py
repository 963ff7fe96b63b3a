"""The columns ``kubectl get`` shows for built-in kinds, computed on the server as a real one does.

kubectl has no printers of its own for server-side tables: what the server puts in the Table is
what the user sees. These are the column sets of a 1.32 cluster (pods ``NAME READY STATUS RESTARTS
AGE``, deployments ``NAME READY UP-TO-DATE AVAILABLE AGE``, services ``NAME TYPE CLUSTER-IP
EXTERNAL-IP PORT(S) AGE``, ...), with their ``-o wide`` extras at priority 1. Kinds not listed get
``NAME AGE``. The cell values live in ``cells``; ``tables`` assembles the Table.
"""

from __future__ import annotations

from serinus.sandbox.apiserver import cells
from serinus.sandbox.apiserver.objects import dig, parse_time, to_int

_WORKLOAD_WIDE = (
    cells.Column("Containers", "string", cells.containers, priority=1),
    cells.Column("Images", "string", cells.images, priority=1),
    cells.Column("Selector", "string", cells.selector, priority=1),
)
_READY = ("status", "readyReplicas")
_REPLICAS = ("spec", "replicas")
_ROLE = cells.Column("Role", "string", cells.slash(("roleRef", "kind"), ("roleRef", "name")))


_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}
"""kubectl's abbreviations of volume access modes."""

PRINTERS: dict[str, tuple[cells.Column, ...]] = {
    "namespaces": (
        cells.NAME,
        cells.Column("Status", "string", cells.value_at("status", "phase")),
        cells.AGE,
    ),
    "nodes": (
        cells.NAME,
        cells.Column("Status", "string", cells.node_status),
        cells.Column("Roles", "string", cells.node_roles),
        cells.AGE,
        cells.Column("Version", "string", cells.value_at("status", "nodeInfo", "kubeletVersion")),
    ),
    "pods": (
        cells.NAME,
        cells.Column("Ready", "string", cells.pod_ready),
        cells.Column("Status", "string", cells.pod_status),
        cells.Column("Restarts", "integer", cells.restarts),
        cells.AGE,
        cells.Column("IP", "string", cells.text_at("status", "podIP"), priority=1),
        cells.Column("Node", "string", cells.text_at("spec", "nodeName"), priority=1),
        cells.Column(
            "Nominated Node", "string", cells.text_at("status", "nominatedNodeName"), priority=1
        ),
        cells.Column(
            "Readiness Gates", "string", cells.text_at("spec", "readinessGates"), priority=1
        ),
    ),
    "services": (
        cells.NAME,
        cells.Column("Type", "string", cells.value_at("spec", "type")),
        cells.Column("Cluster-IP", "string", cells.text_at("spec", "clusterIP")),
        cells.Column("External-IP", "string", cells.service_external),
        cells.Column("Port(s)", "string", cells.service_ports),
        cells.AGE,
        cells.Column(
            "Selector", "string", lambda o: cells.pairs(dig(o, ("spec", "selector"))), priority=1
        ),
    ),
    "endpoints": (cells.NAME, cells.Column("Endpoints", "string", cells.endpoints), cells.AGE),
    "configmaps": (cells.NAME, cells.Column("Data", "integer", cells.config_data), cells.AGE),
    "persistentvolumeclaims": (
        cells.NAME,
        cells.Column("Status", "string", cells.text_at("status", "phase")),
        cells.Column("Volume", "string", cells.text_at("spec", "volumeName")),
        cells.Column("Capacity", "string", cells.text_at("status", "capacity", "storage")),
        cells.Column(
            "Access Modes",
            "string",
            lambda o: ",".join(
                _MODES.get(str(m), str(m)) for m in dig(o, ("status", "accessModes")) or []
            ),
        ),
        cells.Column("StorageClass", "string", cells.text_at("spec", "storageClassName")),
        cells.AGE,
    ),
    "secrets": (
        cells.NAME,
        cells.Column("Type", "string", cells.value_at("type")),
        cells.Column("Data", "integer", cells.count_at("data")),
        cells.AGE,
    ),
    "serviceaccounts": (
        cells.NAME,
        cells.Column("Secrets", "integer", cells.count_at("secrets")),
        cells.AGE,
    ),
    "events": (
        cells.Column("Last Seen", "string", cells.event_seen),
        cells.Column("Type", "string", cells.value_at("type")),
        cells.Column("Reason", "string", cells.value_at("reason")),
        cells.Column("Object", "string", cells.event_object),
        cells.Column(
            "Subobject", "string", cells.value_at("involvedObject", "fieldPath"), priority=1
        ),
        cells.Column("Source", "string", cells.event_source, priority=1),
        cells.Column("Message", "string", cells.value_at("message")),
        cells.Column(
            "First Seen",
            "string",
            lambda o: cells.human_age(parse_time(o.get("firstTimestamp"))),
            1,
        ),
        cells.Column("Count", "integer", cells.number_at("count"), priority=1),
        cells.Column("Name", "string", cells.NAME.cell, priority=1),
    ),
    "deployments.apps": (
        cells.NAME,
        cells.Column("Ready", "string", cells.ratio(_READY, _REPLICAS)),
        cells.Column("Up-to-date", "integer", cells.number_at("status", "updatedReplicas")),
        cells.Column("Available", "integer", cells.number_at("status", "availableReplicas")),
        cells.AGE,
        *_WORKLOAD_WIDE,
    ),
    "replicasets.apps": (
        cells.NAME,
        cells.Column("Desired", "integer", cells.number_at("spec", "replicas")),
        cells.Column("Current", "integer", cells.number_at("status", "replicas")),
        cells.Column("Ready", "integer", cells.number_at("status", "readyReplicas")),
        cells.AGE,
        *_WORKLOAD_WIDE,
    ),
    "daemonsets.apps": (
        cells.NAME,
        cells.Column("Desired", "integer", cells.number_at("status", "desiredNumberScheduled")),
        cells.Column("Current", "integer", cells.number_at("status", "currentNumberScheduled")),
        cells.Column("Ready", "integer", cells.number_at("status", "numberReady")),
        cells.Column("Up-to-date", "integer", cells.number_at("status", "updatedNumberScheduled")),
        cells.Column("Available", "integer", cells.number_at("status", "numberAvailable")),
        cells.Column(
            "Node Selector",
            "string",
            lambda o: cells.pairs(dig(o, ("spec", "template", "spec", "nodeSelector"))),
        ),
        cells.AGE,
        *_WORKLOAD_WIDE,
    ),
    "statefulsets.apps": (
        cells.NAME,
        cells.Column("Ready", "string", cells.ratio(_READY, _REPLICAS)),
        cells.AGE,
        *_WORKLOAD_WIDE[:2],
    ),
    "horizontalpodautoscalers.autoscaling": (
        cells.NAME,
        cells.Column(
            "Reference",
            "string",
            cells.slash(("spec", "scaleTargetRef", "kind"), ("spec", "scaleTargetRef", "name")),
        ),
        cells.Column("Targets", "string", cells.hpa_targets),
        cells.Column("MinPods", "integer", lambda o: to_int(dig(o, ("spec", "minReplicas")), 1)),
        cells.Column("MaxPods", "integer", cells.number_at("spec", "maxReplicas")),
        cells.Column("Replicas", "integer", cells.number_at("status", "currentReplicas")),
        cells.AGE,
    ),
    "leases.coordination.k8s.io": (
        cells.NAME,
        cells.Column("Holder", "string", cells.value_at("spec", "holderIdentity")),
        cells.AGE,
    ),
    "customresourcedefinitions.apiextensions.k8s.io": (
        cells.NAME,
        cells.Column("Created At", "date", cells.value_at("metadata", "creationTimestamp")),
    ),
    "ingresses.networking.k8s.io": (
        cells.NAME,
        cells.Column("Class", "string", cells.text_at("spec", "ingressClassName")),
        cells.Column("Hosts", "string", cells.ingress_hosts),
        cells.Column("Address", "string", cells.ingress_address),
        cells.Column("Ports", "string", lambda o: "80, 443" if dig(o, ("spec", "tls")) else "80"),
        cells.AGE,
    ),
    "poddisruptionbudgets.policy": (
        cells.NAME,
        cells.Column("Min Available", "string", cells.or_na("spec", "minAvailable")),
        cells.Column("Max Unavailable", "string", cells.or_na("spec", "maxUnavailable")),
        cells.Column(
            "Allowed Disruptions", "integer", cells.number_at("status", "disruptionsAllowed")
        ),
        cells.AGE,
    ),
    "rolebindings.rbac.authorization.k8s.io": (cells.NAME, _ROLE, cells.AGE),
    "clusterrolebindings.rbac.authorization.k8s.io": (cells.NAME, _ROLE, cells.AGE),
    "jobs.batch": (
        cells.NAME,
        cells.Column(
            "Status",
            "string",
            lambda o: "Complete" if dig(o, ("status", "succeeded")) else "Running",
        ),
        cells.Column(
            "Completions",
            "string",
            cells.ratio(("status", "succeeded"), ("spec", "completions"), 1),
        ),
        cells.AGE,
    ),
    "cronjobs.batch": (
        cells.NAME,
        cells.Column("Schedule", "string", cells.value_at("spec", "schedule")),
        cells.Column("Suspend", "boolean", lambda o: bool(dig(o, ("spec", "suspend")))),
        cells.Column("Active", "integer", cells.count_at("status", "active")),
        cells.AGE,
    ),
}
"""cells.Column sets by storage resource name (``deployments.apps``)."""
