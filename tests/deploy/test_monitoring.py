"""``deploy/monitoring``: the Grafana dashboard and the PrometheusRule alerts.

Covers: the dashboard is well-formed Grafana JSON (unique panel ids, panels on the 24-column grid
without overlapping, every query on the ``$datasource`` variable, every ``$variable`` defined),
every query is valid PromQL (checked by the real ``promtool``) and reads only metrics the
operator exports; the PrometheusRule passes ``promtool check rules``; its alerts read only
metrics the operator exports, and ``promtool test rules`` shows each one firing when it should
and quiet when it should not: a Failed canary; a run past its deadline (not one with no
deadline); a Canary not ticked for three intervals and a minute (not one ticked on time); no
operator scraped for five minutes.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess

import pytest
import yaml

from serinus.operator.selfmetrics import SelfMetrics
from tests.deploy.support import DEPLOY

MONITORING = DEPLOY / "monitoring"
DASHBOARD = json.loads((MONITORING / "grafana-dashboard.json").read_text())
RULES = yaml.safe_load((MONITORING / "prometheus-rules.yaml").read_text())
FUNCTIONS = {"max", "sum", "count", "rate", "increase", "histogram_quantile", "time", "vector",
             "absent", "label_values", "by", "and", "or", "le"}  # fmt: skip


def exported() -> set[str]:
    """Every series name the operator's registry exposes."""
    names = set()
    for family in SelfMetrics(mesh_provider="linkerd").registry.collect():
        names.add(family.name)
        names.update(f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_count", "_sum"))
    return names


def metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", re.sub(r'"[^"]*"', "", expr))
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", without_labels))
    return {w for w in words if w.startswith(("flagger_", "serinus_"))}


def panels() -> list[dict]:
    return [p for p in DASHBOARD["panels"] if p["type"] != "row"]


def queries() -> list[str]:
    return [t["expr"] for p in panels() for t in p["targets"]]


def test_the_dashboard_is_well_formed_grafana_json():
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    assert DASHBOARD["uid"] == "serinus"
    assert DASHBOARD["schemaVersion"] >= 36
    cells = set()
    for panel in DASHBOARD["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        taken = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                 for y in range(grid["y"], grid["y"] + grid["h"])}  # fmt: skip
        assert not taken & cells, f"{panel['title']} overlaps another panel"
        cells |= taken
    variables = {v["name"] for v in DASHBOARD["templating"]["list"]}
    assert variables == {"datasource", "namespace", "canary"}
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            used = set(re.findall(r"\$\{?(\w+)", target["expr"]))
            assert used <= variables, (panel["title"], used)


def test_every_dashboard_query_reads_exported_metrics_and_parses(tmp_path: pathlib.Path):
    known = exported()
    for expr in queries():
        names = metric_names(expr)
        assert names, expr
        assert names <= known, (expr, names - known)
    plain = [q.replace("$namespace", ".*").replace("$canary", ".*") for q in queries()]
    recording = [{"record": f"dashboard:query{i}", "expr": q} for i, q in enumerate(plain)]
    rules = tmp_path / "queries.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recording}]}))
    checked = subprocess.run(
        ["promtool", "check", "rules", str(rules)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def rules_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "serinus-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": RULES["spec"]["groups"]}))
    return path


def test_the_prometheus_rule_passes_promtool_check_rules(tmp_path: pathlib.Path):
    assert (RULES["apiVersion"], RULES["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    checked = subprocess.run(
        ["promtool", "check", "rules", str(rules_file(tmp_path))], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout
    known = exported()
    for rule in RULES["spec"]["groups"][0]["rules"]:
        assert metric_names(rule["expr"]) <= known, rule["alert"]


UNIT_TESTS = """
rule_files: [serinus-rules.yaml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'flagger_canary_status{name="podinfo", namespace="prod"}'
        values: '0x3 2x3'
      - series: 'flagger_canary_status{name="api", namespace="prod"}'
        values: '1x7'
      - series: 'flagger_info{version="0.1.0", mesh_provider="linkerd"}'
        values: '1x7'
    alert_rule_test:
      - eval_time: 30s
        alertname: SerinusCanaryFailed
        exp_alerts: []
      - eval_time: 90s
        alertname: SerinusCanaryFailed
        exp_alerts:
          - exp_labels: {severity: warning, name: podinfo, namespace: prod}
            exp_annotations:
              summary: Canary podinfo.prod failed and was rolled back
              description: >-
                serinus routed all traffic back to the primary and scaled the canary down.
                `serinus status podinfo -n prod` shows why;
                `serinus report podinfo -n prod` saves the run.
      - eval_time: 90s
        alertname: SerinusOperatorAbsent
        exp_alerts: []
  - interval: 1m
    input_series:
      # deadline at 5 minutes; another run has no deadline (0)
      - series: 'serinus_canary_deadline_timestamp_seconds{name="podinfo", namespace="prod"}'
        values: '300x10'
      - series: 'serinus_canary_deadline_timestamp_seconds{name="api", namespace="prod"}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: SerinusCanaryStuck
        exp_alerts: []
      - eval_time: 6m
        alertname: SerinusCanaryStuck
        exp_alerts:
          - exp_labels: {severity: warning, name: podinfo, namespace: prod}
            exp_annotations:
              summary: Canary podinfo.prod is past its deadline
              description: >-
                The run should have ended by now even with every failed check it may have. It is
                still under way: a metric without data, a workload that never becomes ready, or an
                error on every tick. `serinus status podinfo -n prod`
                shows where it stands.
  - interval: 1m
    input_series:
      # podinfo ticked at 0 and then never again; api ticks every minute; both every 10s
      - series: 'serinus_canary_last_tick_timestamp_seconds{name="podinfo", namespace="prod"}'
        values: '0x10'
      - series: 'serinus_canary_last_tick_timestamp_seconds{name="api", namespace="prod"}'
        values: '0+60x10'
      - series: 'serinus_canary_interval_seconds{name="podinfo", namespace="prod"}'
        values: '10x10'
      - series: 'serinus_canary_interval_seconds{name="api", namespace="prod"}'
        values: '10x10'
    alert_rule_test:
      - eval_time: 1m
        alertname: SerinusNotTicking
        exp_alerts: []
      - eval_time: 2m
        alertname: SerinusNotTicking
        exp_alerts:
          - exp_labels: {severity: critical, name: podinfo, namespace: prod}
            exp_annotations:
              summary: serinus has not ticked podinfo.prod for 2m 0s
              description: >-
                The operator is up but does not run this Canary's analysis: look at its log and
                at its leader-election Lease.
  - interval: 1m
    input_series:
      - series: 'up{job="other"}'
        values: '1x10'
    alert_rule_test:
      - eval_time: 4m
        alertname: SerinusOperatorAbsent
        exp_alerts: []
      - eval_time: 6m
        alertname: SerinusOperatorAbsent
        exp_alerts:
          - exp_labels: {severity: critical}
            exp_annotations:
              summary: No serinus operator has been scraped for 5 minutes
              description: No release is being judged or rolled back while the operator is down.
"""


def test_each_alert_fires_when_it_should_and_only_then(tmp_path: pathlib.Path):
    rules_file(tmp_path)
    tests = tmp_path / "tests.yaml"
    tests.write_text(UNIT_TESTS)
    run = subprocess.run(
        ["promtool", "test", "rules", str(tests)], capture_output=True, text=True, cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


@pytest.mark.parametrize("alert", ["SerinusCanaryFailed", "SerinusCanaryStuck"])
def test_alerts_name_the_canary(alert: str):
    rule = next(r for r in RULES["spec"]["groups"][0]["rules"] if r.get("alert") == alert)
    assert "{{ $labels.name }}.{{ $labels.namespace }}" in rule["annotations"]["summary"]
