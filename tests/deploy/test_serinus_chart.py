"""The serinus operator's Helm chart (deploy/charts/serinus), rendered with ``helm template``.

Covers:
- ``helm lint --strict`` finds nothing to warn about;
- the default install and every ci/*-values.yaml file render objects that pass the Kubernetes
  schemas (strict: unknown fields fail) of an older and the newest Kubernetes release;
- the defaults are Flagger's: mesh provider istio, Prometheus at http://prometheus:9090, one
  replica, requests 10m CPU / 32Mi and limits 1 CPU / 512Mi, log level info;
- the operator runs as a non-root user on a read-only root filesystem with a writable /tmp;
- the probes ask /healthz and /readyz on the port the operator listens on, and the Service sends
  its port to that same container port;
- every argument the chart passes is accepted by ``serinus operator`` itself, and each value
  arrives as the parameter it is meant for;
- leader election: two replicas, the flags, and a Role for Leases in the release namespace bound
  to the operator's ServiceAccount; more than one replica without it is refused with a message;
- ``watchNamespaces`` (and Flagger's ``namespace``) become one ``--namespace`` list; a
  namespace-scoped install grants the same rules through a Role in each watched namespace and no
  ClusterRole; asking for it without a namespace is refused with a message;
- the RBAC rules grant exactly what the operator needs: no wildcard; Secrets are only read, by
  name (``get``), and the operator is told not to copy them (``--no-track-secrets``); only
  ``trackSecrets`` adds the writes its copies need;
- the PodMonitor and ServiceMonitor select the operator's pods / Service and name a real port;
- values.schema.json rejects a misspelled value name and a wrongly typed value, naming them;
- the dashboard is off by default; enabled, it gets its port, TLS Secret, Service port and a
  ClusterRole that only creates TokenReviews and SubjectAccessReviews; the PrometheusRule holds
  the alerts of deploy/monitoring, whose copy in the chart's files/ is byte for byte the same.
"""

from __future__ import annotations

import pathlib

import click
import pytest
import yaml

from serinus.cli import main as cli_main
from tests.deploy.support import (
    DEPLOY,
    SERINUS_CHART,
    Manifest,
    RenderError,
    container,
    helm_lint,
    helm_template,
    kinds,
    only,
    validate,
)

CI_VALUES = sorted((SERINUS_CHART / "ci").glob("*-values.yaml"))


def render(*values: str, set_values: tuple[str, ...] = (), crds: bool = False) -> list[Manifest]:
    return helm_template(
        SERINUS_CHART,
        release="serinus",
        namespace="serinus-system",
        values=[SERINUS_CHART / "ci" / name for name in values],
        set_values=set_values,
        include_crds=crds,
    )


def args_of(manifests: list[Manifest]) -> list[str]:
    args: list[str] = container(only(manifests, "Deployment"))["args"]
    return args


def permissions(role: Manifest) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) triples a Role or ClusterRole grants."""
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def grants(group: str, resources: str, verbs: str) -> set[tuple[str, str, str]]:
    return {(group, r, v) for r in resources.split() for v in verbs.split()}


OWNED = "get list watch create update patch delete"
NEEDED = (
    grants("flagger.app", "canaries", "get list watch update patch")
    | grants("flagger.app", "canaries/status", "get update patch")
    | grants("flagger.app", "canaries/finalizers", "update")
    | grants("flagger.app", "metrictemplates alertproviders", "get list watch")
    | grants("apps", "deployments daemonsets statefulsets", OWNED)
    | grants("apps", "deployments/scale statefulsets/scale", "get update patch")
    | grants("", "pods", "list delete")
    | grants("metrics.keptn.sh", "keptnmetrics", "get")
    | grants("metrics.keptn.sh", "analyses", "get create delete")
    | grants("", "services", OWNED)
    | grants("", "configmaps", "get list watch create update patch")
    | grants("", "secrets", "get")
    | grants("", "events", "create patch")
    | grants("autoscaling", "horizontalpodautoscalers", OWNED)
    | grants("split.smi-spec.io", "trafficsplits", OWNED)
    | grants("gateway.networking.k8s.io", "httproutes", OWNED)
    | grants("networking.istio.io", "virtualservices destinationrules", OWNED)
    | grants("networking.k8s.io", "ingresses", OWNED)
    | grants("projectcontour.io", "httpproxies", OWNED)
    | grants("gateway.solo.io", "routetables", OWNED)
    | grants("gloo.solo.io", "upstreams", OWNED)
    | grants("traefik.io", "traefikservices", OWNED)
    | grants("apisix.apache.org", "apisixroutes", OWNED)
    | grants("kuma.io", "trafficroutes", OWNED)
    | grants("appmesh.k8s.aws", "virtualnodes virtualrouters virtualservices", OWNED)
    | grants("serving.knative.dev", "services", "get list watch update patch")
    | grants("serving.knative.dev", "revisions", "get list watch")
)
"""What the operator does: watch Canaries and write their status and finalizer, read templates and
alert providers, manage the -primary/-canary copies and the one routing object per Canary, copy
the ConfigMaps a target mounts (fetched by name), read Secrets by name, record Events, delete a
StatefulSet's pods that are unready at an old revision, and read Keptn's metrics."""


def test_chart_passes_helm_lint_strict() -> None:
    assert "0 chart(s) failed" in helm_lint(SERINUS_CHART)


def test_default_install_renders_valid_objects() -> None:
    manifests = render(crds=True)
    validate(manifests)
    assert kinds(manifests) == [
        "ClusterRole/serinus",
        "ClusterRoleBinding/serinus",
        "CustomResourceDefinition/alertproviders.flagger.app",
        "CustomResourceDefinition/canaries.flagger.app",
        "CustomResourceDefinition/metrictemplates.flagger.app",
        "Deployment/serinus",
        "Service/serinus",
        "ServiceAccount/serinus",
    ]


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda path: path.name)
def test_every_ci_values_file_renders_valid_objects(values: pathlib.Path) -> None:
    validate(render(values.name))


def test_defaults_are_flaggers() -> None:
    deployment = only(render(), "Deployment")
    operator = container(deployment)
    assert deployment["spec"]["replicas"] == 1
    assert operator["args"][:6] == [
        "operator",
        "--port=8080",
        "--mesh-provider=istio",
        "--metrics-server=http://prometheus:9090",
        "--log-level=info",
        "--log-format=json",
    ]
    assert operator["resources"] == {
        "requests": {"cpu": "10m", "memory": "32Mi"},
        "limits": {"cpu": "1000m", "memory": "512Mi"},
    }
    assert operator["image"] == "serinus/operator:0.1.0"


def test_runs_as_non_root_on_a_read_only_root_filesystem() -> None:
    deployment = only(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    operator = container(deployment)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert operator["securityContext"]["readOnlyRootFilesystem"] is True
    assert operator["securityContext"]["allowPrivilegeEscalation"] is False
    assert operator["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    [tmp] = [mount for mount in operator["volumeMounts"] if mount["mountPath"] == "/tmp"]
    [volume] = [v for v in pod["volumes"] if v["name"] == tmp["name"]]
    assert volume == {"name": tmp["name"], "emptyDir": {}}


def test_probes_and_service_reach_the_port_the_operator_listens_on() -> None:
    manifests = render()
    deployment = only(manifests, "Deployment")
    operator = container(deployment)
    ports = {port["name"]: port["containerPort"] for port in operator["ports"]}
    assert f"--port={ports['http']}" in operator["args"]
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert operator["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    service = only(manifests, "Service")
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] in ports
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pod_labels.items() >= deployment["spec"]["selector"]["matchLabels"].items()


def parse_operator_args(args: list[str]) -> dict[str, object]:
    """What ``serinus operator`` makes of ``args`` (the real command's parser, without running)."""
    subcommand, *arguments = args
    group_context = click.Context(cli_main.main, info_name="serinus")
    command = cli_main.main.get_command(group_context, subcommand)
    assert command is not None, f"serinus has no {subcommand!r} subcommand"
    try:
        context = command.make_context(subcommand, list(arguments), parent=group_context)
    except click.UsageError as error:
        pytest.fail(f"serinus {subcommand} refuses the chart's arguments: {error.format_message()}")
    return context.params


@pytest.mark.parametrize(
    "values", [[], *[[path.name] for path in CI_VALUES]], ids=lambda v: v[0] if v else "defaults"
)
def test_serinus_operator_accepts_every_argument_the_chart_passes(values: list[str]) -> None:
    manifests = render(*values)
    params = parse_operator_args(args_of(manifests))
    [http] = [p for p in container(only(manifests, "Deployment"))["ports"] if p["name"] == "http"]
    assert params["port"] == http["containerPort"]


def test_serinus_operator_reads_every_value_as_meant() -> None:
    params = parse_operator_args(args_of(render("everything-values.yaml")))
    assert {name: params[name] for name in EXPECTED_PARAMS} == EXPECTED_PARAMS


EXPECTED_PARAMS = {
    "mesh_provider": "linkerd",
    "metrics_server": "http://prometheus.linkerd-viz:9090",
    "namespaces": ("prod", "staging"),
    "selector_labels": ("app", "name", "app.kubernetes.io/name", "team.example.com/app"),
    "include_label_prefixes": ("app.kubernetes.io", "team.example.com"),
    "leader_election": True,
    "leader_election_namespace": "serinus-system",
    "leader_election_name": "serinus-leader-election",
    "log_level": "debug",
    "log_format": "console",
    "cluster_name": "prod-eu",
}
"""ci/everything-values.yaml as the operator's parameters (cluster_name from an extraArgs entry in
Flagger's single-dash spelling)."""


def test_leader_election_runs_two_replicas_holding_one_lease() -> None:
    manifests = render("leader-election-values.yaml")
    validate(manifests)
    assert only(manifests, "Deployment")["spec"]["replicas"] == 2
    args = args_of(manifests)
    assert "--enable-leader-election" in args
    assert "--leader-election-namespace=serinus-system" in args
    assert "--leader-election-name=serinus-leader-election" in args
    role = only(manifests, "Role", "serinus-leader-election")
    assert role["metadata"]["namespace"] == "serinus-system"
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["serinus-leader-election"],
            "verbs": ["get", "update"],
        },
    ]
    binding = only(manifests, "RoleBinding", "serinus-leader-election")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "serinus-leader-election",
    }
    account = only(manifests, "ServiceAccount")["metadata"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]


def test_sharding_runs_three_active_replicas_each_with_its_lease() -> None:
    manifests = render("sharding-values.yaml")
    validate(manifests)
    assert only(manifests, "Deployment")["spec"]["replicas"] == 3
    params = parse_operator_args(args_of(manifests))
    assert params["shards"] == "auto"
    assert params["leader_election"] is False
    assert params["leader_election_namespace"] == "serinus-system"
    assert params["max_concurrent_runs"] == 5
    role = only(manifests, "Role", "serinus-shards")
    assert role["rules"] == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "list", "create", "update", "delete"],
        }
    ]
    binding = only(manifests, "RoleBinding", "serinus-shards")
    assert binding["roleRef"]["name"] == "serinus-shards"
    with pytest.raises(RenderError) as refused:
        render("sharding-values.yaml", set_values=("leaderElection.enabled=true",))
    assert "expected one of them" in refused.value.message


def test_no_lease_permissions_without_leader_election() -> None:
    manifests = render()
    assert [m for m in manifests if m["kind"] in ("Role", "RoleBinding")] == []
    assert not any("leader-election" in arg for arg in args_of(manifests))


def test_more_than_one_replica_without_leader_election_is_refused() -> None:
    with pytest.raises(RenderError) as refused:
        render(set_values=("replicaCount=3",))
    assert "replicaCount: 3 replicas need leaderElection.enabled=true or sharding" in (
        refused.value.message
    )


def test_namespaced_install_grants_the_same_rules_in_each_watched_namespace_only() -> None:
    cluster_wide = only(render(), "ClusterRole")
    manifests = render("namespaced-values.yaml")
    validate(manifests)
    assert [m for m in manifests if m["kind"].startswith("Cluster")] == []
    roles = [m for m in manifests if m["kind"] == "Role"]
    bindings = [m for m in manifests if m["kind"] == "RoleBinding"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["prod", "staging"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["prod", "staging"]
    for role in roles:
        assert role["rules"] == cluster_wide["rules"]
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "serinus",
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "serinus", "namespace": "serinus-system"}
        ]
    assert parse_operator_args(args_of(manifests))["namespaces"] == ("prod", "staging")


def test_flaggers_single_namespace_value_still_scopes_the_install() -> None:
    manifests = render(set_values=("namespace=prod", "rbac.namespaced=true"))
    assert only(manifests, "Role", "serinus")["metadata"]["namespace"] == "prod"
    assert "--namespace=prod" in args_of(manifests)


def test_namespaced_rbac_without_a_namespace_is_refused() -> None:
    with pytest.raises(RenderError) as refused:
        render(set_values=("rbac.namespaced=true",))
    assert "rbac.namespaced: a namespace-scoped install needs watchNamespaces" in (
        refused.value.message
    )


def test_secrets_are_written_only_when_the_operator_tracks_them() -> None:
    read_only = render()
    assert "--no-track-secrets" in args_of(read_only)
    assert {t for t in permissions(only(read_only, "ClusterRole")) if t[1] == "secrets"} == {
        ("", "secrets", "get")
    }
    tracking = render(set_values=("trackSecrets=true",))
    assert "--no-track-secrets" not in args_of(tracking)
    assert parse_operator_args(args_of(tracking))["track_secrets"] is True
    assert grants("", "secrets", "get create update patch") <= permissions(
        only(tracking, "ClusterRole")
    )


def test_rbac_grants_exactly_what_the_operator_needs() -> None:
    manifests = render()
    role = only(manifests, "ClusterRole")
    granted = permissions(role)
    assert granted == NEEDED
    assert not any("*" in triple for triple in granted)
    assert not {("", "secrets", "list"), ("", "secrets", "watch")} & granted
    binding = only(manifests, "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "serinus", "namespace": "serinus-system"}
    ]


def test_monitors_select_the_operator_and_a_real_port() -> None:
    manifests = render("everything-values.yaml")
    deployment = only(manifests, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    container_ports = {port["name"] for port in container(deployment)["ports"]}
    pod_monitor = only(manifests, "PodMonitor")
    assert pod_monitor["metadata"]["labels"]["release"] == "prometheus"
    assert pod_monitor["spec"]["namespaceSelector"] == {"matchNames": ["serinus-system"]}
    assert pod_monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    [endpoint] = pod_monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in container_ports
    assert endpoint["path"] == "/metrics"
    service = only(manifests, "Service")
    service_monitor = only(manifests, "ServiceMonitor")
    assert service_monitor["metadata"]["namespace"] == "monitoring"
    assert service_monitor["spec"]["namespaceSelector"] == {"matchNames": ["serinus-system"]}
    assert service_monitor["spec"]["selector"]["matchLabels"].items() <= (
        service["metadata"]["labels"].items()
    )
    [endpoint] = service_monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}


@pytest.mark.parametrize(
    ("assignment", "named"),
    [
        ("meshprovider=linkerd", "meshprovider"),
        ("replicaCount=two", "replicaCount"),
        ("metricsServer=prometheus:9090", "metricsServer"),
        ("logLevel=verbose", "logLevel"),
        ("watchNamespaces[0]=Prod_Team", "watchNamespaces"),
    ],
)
def test_values_schema_names_the_bad_value(assignment: str, named: str) -> None:
    with pytest.raises(RenderError) as refused:
        render(set_values=(assignment,))
    assert named in refused.value.message


def test_the_dashboard_is_served_over_tls_and_may_only_ask_for_reviews() -> None:
    manifests = render("dashboard-values.yaml")
    params = parse_operator_args(args_of(manifests))
    assert params["dashboard_port"] == 9443
    assert params["dashboard_tls_cert"] == "/etc/serinus/dashboard-tls/tls.crt"
    deployment = only(manifests, "Deployment")
    ports = {p["name"]: p["containerPort"] for p in container(deployment)["ports"]}
    assert ports["dashboard"] == 9443
    mounts = {m["name"]: m["mountPath"] for m in container(deployment)["volumeMounts"]}
    assert mounts["dashboard-tls"] == "/etc/serinus/dashboard-tls"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["dashboard-tls"]["secret"]["secretName"] == "serinus-dashboard-tls"
    service = only(manifests, "Service")
    assert {"name": "dashboard", "port": 9443, "targetPort": "dashboard", "protocol": "TCP"} in (
        service["spec"]["ports"]
    )
    roles = [m for m in manifests if m["kind"] == "ClusterRole"]
    dashboard = next(r for r in roles if r["metadata"]["name"] == "serinus-dashboard")
    assert permissions(dashboard) == {
        ("authentication.k8s.io", "tokenreviews", "create"),
        ("authorization.k8s.io", "subjectaccessreviews", "create"),
    }
    default = render()
    assert "--dashboard-port" not in " ".join(args_of(default))  # off unless asked for
    assert not [m for m in default if m["metadata"]["name"] == "serinus-dashboard"]


def test_the_prometheus_rule_carries_the_alerts_of_deploy_monitoring() -> None:
    rule = only(render("dashboard-values.yaml"), "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    source = yaml.safe_load((DEPLOY / "monitoring" / "prometheus-rules.yaml").read_text())
    assert rule["spec"] == source["spec"]
    copied = SERINUS_CHART / "files" / "prometheus-rules.yaml"
    assert copied.read_bytes() == (DEPLOY / "monitoring" / "prometheus-rules.yaml").read_bytes(), (
        "run scripts/sync-chart-crds.sh"
    )
