"""The connection budget as the templates state and enforce it: every function
has a container cap, the sum of caps x connections fits what the database
(or its RDS Proxy) accepts for each stage, queue concurrency follows the
priorities, SQS sources report partial batch failures, the proxy is on by
default outside dev, and the checker refuses a template that breaks the budget.
"""
from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"

_spec = importlib.util.spec_from_file_location("finalize_template", INFRA / "finalize_template.py")
ft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ft)
budget = ft.budget

RESOURCES = ft.load_template(INFRA / "resources.yaml")
STAGES = ("dev", "prod")
PRIORITIES = ("critical", "default", "low")


@pytest.fixture(scope="module")
def app_templates(tmp_path_factory) -> dict[str, dict]:
    out_dir = tmp_path_factory.mktemp("sam-budget")
    templates = {}
    for stage in STAGES:
        out = out_dir / f"sam-{stage}.yaml"
        proc = subprocess.run(
            [sys.executable, str(INFRA / "finalize_template.py"), "render", "--stage", stage, "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        templates[stage] = ft.load_template(out)
    return templates


def functions(template: dict) -> dict[str, dict]:
    """handler name -> function properties."""
    return {f["Properties"]["Handler"].rsplit(".", 1)[-1]: f["Properties"]
            for f in template["Resources"].values() if f["Type"] == "AWS::Serverless::Function"}


def sqs_event(props: dict) -> dict:
    (event,) = [e["Properties"] for e in props["Events"].values() if e["Type"] == "SQS"]
    return event


def row(stage: str) -> dict:
    return {k: int(v) for k, v in RESOURCES["Mappings"]["ConnectionBudget"][stage].items()}


# ------------------------------------------------------------- the app side

@pytest.mark.parametrize("stage", STAGES)
def test_every_function_has_a_reserved_concurrency_cap(stage, app_templates):
    for handler, props in functions(app_templates[stage]).items():
        assert props.get("ReservedConcurrentExecutions", 0) >= 1, handler


@pytest.mark.parametrize("stage", STAGES)
def test_each_container_holds_one_database_connection(stage, app_templates):
    env = app_templates[stage]["Globals"]["Function"]["Environment"]["Variables"]
    assert env["DB_POOL_MAX"] == "1"


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_queue_consumers_are_capped_on_the_event_source_and_report_batch_item_failures(stage, priority,
                                                                                     app_templates):
    props = functions(app_templates[stage])[f"jobs_{priority}"]
    event = sqs_event(props)
    cap = event["ScalingConfig"]["MaximumConcurrency"]
    assert cap == row(stage)[f"Jobs{priority.capitalize()}"] and cap >= 2
    assert props["ReservedConcurrentExecutions"] == cap
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("stage", STAGES)
def test_queue_concurrency_follows_the_priorities(stage, app_templates):
    fns = functions(app_templates[stage])
    caps = [sqs_event(fns[f"jobs_{p}"])["ScalingConfig"]["MaximumConcurrency"] for p in PRIORITIES]
    assert caps[0] > caps[1] > caps[2]


@pytest.mark.parametrize("stage", STAGES)
def test_the_sum_of_containers_times_connections_fits_the_database_with_or_without_the_proxy(stage,
                                                                                           app_templates):
    template = app_templates[stage]
    pool = int(template["Globals"]["Function"]["Environment"]["Variables"]["DB_POOL_MAX"])
    demand = sum(p["ReservedConcurrentExecutions"] * pool for p in functions(template).values())
    b = row(stage)
    assert demand <= b["MaxConnections"] - b["ReservedConnections"]
    assert demand <= b["MaxConnections"] * b["ProxyMaxConnectionsPercent"] // 100
    meta = template["Metadata"]["StepFlowConnectionBudget"]
    assert meta["demand"] == demand and meta["max_connections"] == b["MaxConnections"]


def test_budget_command_prints_each_function_and_the_total_against_max_connections():
    proc = subprocess.run([sys.executable, str(INFRA / "finalize_template.py"), "budget", "--stage", "prod"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    b = row("prod")
    assert any(line.split()[:2] == ["api_handler", str(b["Api"])] for line in lines)
    assert any(line.split()[:2] == ["jobs_low", str(b["JobsLow"])] for line in lines)
    assert f"of max_connections {b['MaxConnections']}" in proc.stdout


# ---------------------------------------------------------------- the checker

def _tight_resources(stage: str, max_connections: int) -> dict:
    resources = copy.deepcopy(RESOURCES)
    resources["Mappings"]["ConnectionBudget"][stage]["MaxConnections"] = max_connections
    return resources


def test_checker_refuses_a_stage_whose_functions_could_hold_more_connections_than_the_database_accepts(
        app_templates):
    template = app_templates["prod"]
    demand = template["Metadata"]["StepFlowConnectionBudget"]["demand"]
    problems = ft.check(template, _tight_resources("prod", demand), "prod")
    assert any(p.startswith("connection budget exceeded for stage prod") for p in problems), problems
    assert not budget.problems(template, RESOURCES, "prod")


@pytest.mark.parametrize("breakage, expected", [
    ("no_cap", "no concurrency cap"),
    ("no_report", "without ReportBatchItemFailures"),
    ("order", "critical > default > low"),
    ("no_pool", "DB_POOL_MAX is not set"),
])
def test_checker_reports_each_broken_budget_rule(app_templates, breakage, expected):
    template = copy.deepcopy(app_templates["dev"])
    fns = functions(template)
    if breakage == "no_cap":
        del fns["app"]["ReservedConcurrentExecutions"]
    elif breakage == "no_report":
        del sqs_event(fns["jobs_default"])["FunctionResponseTypes"]
    elif breakage == "order":
        sqs_event(fns["jobs_low"])["ScalingConfig"]["MaximumConcurrency"] = 50
    else:
        del template["Globals"]["Function"]["Environment"]["Variables"]["DB_POOL_MAX"]
    problems = budget.problems(template, RESOURCES, "dev")
    assert any(expected in p for p in problems), problems


def test_a_stage_without_a_budget_row_cannot_be_packaged(app_templates):
    problems = budget.problems(app_templates["dev"], RESOURCES, "staging")
    assert problems == ["stage 'staging' has no row in the ConnectionBudget mapping of infra/resources.yaml"]


# ------------------------------------------------------------ the infra side

def test_database_max_connections_comes_from_the_budget_row():
    params = RESOURCES["Resources"]["DatabaseClusterParameters"]["Properties"]["Parameters"]
    assert params["max_connections"] == {"Fn::FindInMap": ["ConnectionBudget", {"Ref": "Stage"}, "MaxConnections"]}
    cluster = RESOURCES["Resources"]["DatabaseCluster"]["Properties"]
    assert cluster["DBClusterParameterGroupName"] == {"Ref": "DatabaseClusterParameters"}


def test_rds_proxy_uses_the_managed_secret_and_holds_the_budgets_share_of_connections():
    res = RESOURCES["Resources"]
    proxy = res["DatabaseProxy"]
    assert proxy["Condition"] == "UseProxy" and proxy["Properties"]["EngineFamily"] == "POSTGRESQL"
    (auth,) = proxy["Properties"]["Auth"]
    assert auth["AuthScheme"] == "SECRETS"
    assert auth["SecretArn"] == {"Fn::GetAtt": ["DatabaseCluster", "MasterUserSecret.SecretArn"]}
    pool = res["DatabaseProxyTargets"]["Properties"]["ConnectionPoolConfigurationInfo"]
    assert pool["MaxConnectionsPercent"] == {
        "Fn::FindInMap": ["ConnectionBudget", {"Ref": "Stage"}, "ProxyMaxConnectionsPercent"]}
    assert pool["ConnectionBorrowTimeout"] < 29  # a request waiting for a connection still answers in time
    assert res["DatabaseProxyTargets"]["Properties"]["DBClusterIdentifiers"] == [{"Ref": "DatabaseCluster"}]


def test_proxy_role_reads_only_the_database_secret():
    role = RESOURCES["Resources"]["DatabaseProxyRole"]["Properties"]
    (policy,) = role["Policies"]
    stmts = policy["PolicyDocument"]["Statement"]
    assert {a for s in stmts for a in s["Action"]} == {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    (read,) = [s for s in stmts if "secretsmanager:GetSecretValue" in s["Action"]]
    assert read["Resource"] == [{"Fn::GetAtt": ["DatabaseCluster", "MasterUserSecret.SecretArn"]}]


@pytest.mark.parametrize("choice, stage, on", [
    ("auto", "dev", False), ("auto", "prod", True), ("auto", "staging", True),
    ("on", "dev", True), ("off", "prod", False),
])
def test_proxy_is_on_by_default_outside_dev(choice, stage, on):
    assert _evaluate(RESOURCES["Conditions"]["UseProxy"], {"UseDatabaseProxy": choice, "Stage": stage}) is on


def test_functions_connect_through_the_proxy_when_it_is_on():
    value = RESOURCES["Outputs"]["DatabaseEndpoint"]["Value"]
    assert value == {"Fn::If": ["UseProxy", {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]},
                                {"Fn::GetAtt": ["DatabaseCluster", "Endpoint.Address"]}]}
    ingress = RESOURCES["Resources"]["DatabaseProxySecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert [r["SourceSecurityGroupId"] for r in ingress] == [{"Ref": "FunctionSecurityGroup"}]


def test_budget_rows_exist_for_every_chalice_stage():
    import json
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert set(config["stages"]) <= set(RESOURCES["Mappings"]["ConnectionBudget"])


def _evaluate(node, params: dict):
    """A tiny evaluator for the Conditions used here (Equals/Not/And/Or over Refs)."""
    if isinstance(node, dict):
        (fn, args), = node.items()
        if fn == "Ref":
            return params[args]
        if fn == "Fn::Equals":
            return _evaluate(args[0], params) == _evaluate(args[1], params)
        if fn == "Fn::Not":
            return not _evaluate(args[0], params)
        if fn == "Fn::And":
            return all(_evaluate(a, params) for a in args)
        if fn == "Fn::Or":
            return any(_evaluate(a, params) for a in args)
        raise AssertionError(f"unexpected {fn}")
    return node


# ------------------------------------------------------------------ alarms

@pytest.mark.parametrize("stage", STAGES)
def test_an_api_throttled_at_its_cap_raises_an_alarm(stage, app_templates):
    alarms = [r["Properties"] for r in app_templates[stage]["Resources"].values()
              if r["Type"] == "AWS::CloudWatch::Alarm"]
    (alarm,) = [a for a in alarms if a["MetricName"] == "Throttles"]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "APIHandler"}}]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0


@pytest.mark.parametrize("priority", PRIORITIES)
def test_a_queue_whose_oldest_message_waits_too_long_raises_an_alarm(priority):
    queue_id = f"Jobs{priority.capitalize()}Queue"
    alarms = [r["Properties"] for r in RESOURCES["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    (alarm,) = [a for a in alarms if a["MetricName"] == "ApproximateAgeOfOldestMessage"
                and a["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}]
    assert alarm["AlarmActions"] == {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def test_backlog_alarms_wait_longer_for_lower_priorities():
    by_queue = {a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: a["Properties"]["Threshold"]
                for a in RESOURCES["Resources"].values()
                if a["Type"] == "AWS::CloudWatch::Alarm" and a["Properties"]["MetricName"] ==
                "ApproximateAgeOfOldestMessage"}
    thresholds = [by_queue[f"Jobs{p.capitalize()}Queue"] for p in PRIORITIES]
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == 3
