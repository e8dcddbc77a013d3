"""The deployment templates: cfn-lint accepts them, and the rules that tie
infra/resources.yaml to .chalice/config.json and app.py hold for every stage.

The app template is rendered from the real app.py + config the way `chalice
package` does (without building deployment.zip), then finalized by
infra/finalize_template.py, in a subprocess so app import and the stage's
environment variables do not leak into this process.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
VENV_BIN = Path(sys.executable).parent
PRIORITIES = ("critical", "default", "low")
SCHEDULES = {
    "health_check_schedule": "rate(5 minutes)",
    "stuck_job_sweep": "rate(5 minutes)",
}

_spec = importlib.util.spec_from_file_location("finalize_template", INFRA / "finalize_template.py")
ft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ft)

CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
STAGES = sorted(CONFIG["stages"])
RESOURCES = ft.load_template(INFRA / "resources.yaml")


def lambda_setting(stage: str, function: str, key: str, default):
    """A per-function Chalice setting with Chalice's precedence: function > stage > top level."""
    stage_cfg = CONFIG["stages"][stage]
    for scope in (stage_cfg.get("lambda_functions", {}).get(function, {}), stage_cfg, CONFIG):
        if key in scope:
            return scope[key]
    return default


def stage_env(stage: str) -> dict:
    return {**CONFIG.get("environment_variables", {}), **CONFIG["stages"][stage].get("environment_variables", {})}


def resources_of(template: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def statements(policy_document: dict) -> list[dict]:
    return policy_document["Statement"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def app_templates(tmp_path_factory) -> dict[str, Path]:
    out_dir = tmp_path_factory.mktemp("sam")
    paths = {}
    for stage in STAGES:
        out = out_dir / f"sam-{stage}.yaml"
        proc = subprocess.run(
            [sys.executable, str(INFRA / "finalize_template.py"), "render", "--stage", stage, "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 0, f"render/check for stage {stage} failed:\n{proc.stdout}\n{proc.stderr}"
        paths[stage] = out
    return paths


# ---------------------------------------------------------------- cfn-lint

def test_cfn_lint_accepts_the_infra_and_the_finalized_app_templates(app_templates):
    files = [INFRA / "resources.yaml", INFRA / "network.yaml", *app_templates.values()]
    proc = subprocess.run([str(VENV_BIN / "cfn-lint"), *map(str, files)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------ queues

@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_each_priority_queue_is_named_from_the_stage_queue_prefix(stage, priority):
    prefix = stage_env(stage)["QUEUE_NAME_PREFIX"]
    assert f"{prefix}-{priority}" in ft.infra_queues(RESOURCES, stage)


@pytest.mark.parametrize("priority", PRIORITIES)
def test_each_queue_redrives_to_its_own_dead_letter_queue_after_at_least_five_receives(priority):
    queues = ft.infra_queues(RESOURCES, "dev")
    queue = queues[f"stepflow-dev-jobs-{priority}"]
    dlq = queues[f"stepflow-dev-jobs-{priority}-dlq"]
    assert queue["dlq"] == dlq["logical_id"]
    assert queue["max_receive_count"] >= 5
    assert RESOURCES["Parameters"]["MaxReceiveCount"]["MinValue"] >= 5


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(stage, priority):
    timeout = lambda_setting(stage, f"jobs_{priority}", "lambda_timeout", 60)
    queue = ft.infra_queues(RESOURCES, stage)[f"stepflow-{stage}-jobs-{priority}"]
    assert timeout == 900
    assert queue["visibility"] >= 6 * timeout


@pytest.mark.parametrize("priority", PRIORITIES)
def test_dead_letter_queue_keeps_messages_longer_than_its_source(priority):
    queues = ft.infra_queues(RESOURCES, "dev")
    source, dlq = queues[f"stepflow-dev-jobs-{priority}"], queues[f"stepflow-dev-jobs-{priority}-dlq"]
    assert dlq["retention"] > source["retention"]
    assert dlq["dlq"] is None  # a DLQ does not redrive further


def test_every_queue_is_encrypted_and_tls_only():
    queues = resources_of(RESOURCES, "AWS::SQS::Queue")
    assert len(queues) == 6
    assert all(q["Properties"].get("SqsManagedSseEnabled") for q in queues.values())
    (policy,) = resources_of(RESOURCES, "AWS::SQS::QueuePolicy").values()
    assert sorted(r["Ref"] for r in policy["Properties"]["Queues"]) == sorted(queues)
    (deny,) = statements(policy["Properties"]["PolicyDocument"])
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("priority", PRIORITIES)
def test_a_non_empty_dead_letter_queue_raises_an_alarm(priority):
    dlq_id = f"Jobs{priority.capitalize()}DeadLetterQueue"
    alarms = [a["Properties"] for a in resources_of(RESOURCES, "AWS::CloudWatch::Alarm").values()]
    watching = [a for a in alarms if a["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq_id, "QueueName"]}]
    assert len(watching) == 1
    assert watching[0]["ComparisonOperator"] == "GreaterThanThreshold" and watching[0]["Threshold"] == 0


# ---------------------------------------------------------- database, keys

def test_database_is_aurora_serverless_v2_private_encrypted_with_a_managed_secret():
    cluster = RESOURCES["Resources"]["DatabaseCluster"]
    props = cluster["Properties"]
    assert props["Engine"] == "aurora-postgresql"
    assert "ServerlessV2ScalingConfiguration" in props
    assert props["StorageEncrypted"] is True
    assert props["ManageMasterUserPassword"] is True
    assert props["MasterUserSecret"]["KmsKeyId"] == {"Ref": "SecretsKey"}
    assert "MasterUserPassword" not in props
    assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot"
    instance = RESOURCES["Resources"]["DatabaseInstance"]["Properties"]
    assert instance["DBInstanceClass"] == "db.serverless" and instance["PubliclyAccessible"] is False


def test_database_accepts_connections_only_from_the_function_security_group():
    ingress = RESOURCES["Resources"]["DatabaseSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    assert ingress == [{
        "Description": "PostgreSQL from the StepFlow functions", "IpProtocol": "tcp", "FromPort": 5432,
        "ToPort": 5432, "SourceSecurityGroupId": {"Ref": "FunctionSecurityGroup"},
    }]


def test_kms_key_rotates_and_encrypts_both_secrets():
    key = RESOURCES["Resources"]["SecretsKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    secrets = resources_of(RESOURCES, "AWS::SecretsManager::Secret")
    assert secrets and all(s["Properties"]["KmsKeyId"] == {"Ref": "SecretsKey"} for s in secrets.values())


def test_no_secret_value_is_written_in_the_template():
    for secret in resources_of(RESOURCES, "AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"]
    text = (INFRA / "resources.yaml").read_text()
    assert " MasterUserPassword:" not in text and "resolve:secretsmanager" not in text


# ---------------------------------------------------------------------- IAM

def _role_statements(role_id: str) -> list[dict]:
    role = RESOURCES["Resources"][role_id]["Properties"]
    found = []
    for ref in role.get("ManagedPolicyArns", []):
        found += statements(RESOURCES["Resources"][ref["Ref"]]["Properties"]["PolicyDocument"])
    for inline in role.get("Policies", []):
        found += statements(inline["PolicyDocument"])
    return found


def _actions(stmts: list[dict]) -> set[str]:
    return {a for s in stmts if s["Effect"] == "Allow" for a in as_list(s["Action"])}


@pytest.mark.parametrize("role_id", ["AppFunctionRole", "JobsFunctionRole"])
def test_function_roles_name_every_action_and_scope_resources(role_id):
    for stmt in _role_statements(role_id):
        assert all("*" not in action for action in as_list(stmt["Action"])), stmt
        if stmt["Resource"] == "*":
            # Only Lambda's VPC network-interface actions accept no resource ARN.
            assert all(a.startswith("ec2:") for a in as_list(stmt["Action"])), stmt


@pytest.mark.parametrize("role_id, may_consume", [("AppFunctionRole", False), ("JobsFunctionRole", True)])
def test_only_the_jobs_role_may_receive_and_delete_job_messages(role_id, may_consume):
    actions = _actions(_role_statements(role_id))
    assert "sqs:SendMessage" in actions
    assert ({"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions) is may_consume


@pytest.mark.parametrize("role_id", ["AppFunctionRole", "JobsFunctionRole"])
def test_no_role_touches_the_dead_letter_queues_or_decrypts_outside_secrets_manager(role_id):
    for stmt in _role_statements(role_id):
        for resource in as_list(stmt["Resource"]):
            assert "DeadLetter" not in json.dumps(resource), stmt
        if any(a.startswith("kms:") for a in as_list(stmt["Action"])):
            assert as_list(stmt["Action"]) == ["kms:Decrypt"]
            assert "kms:ViaService" in stmt["Condition"]["StringEquals"]


def test_function_roles_read_only_the_two_stepflow_secrets():
    (stmt,) = [s for s in _role_statements("AppFunctionRole") if "secretsmanager:GetSecretValue" in s["Action"]]
    assert stmt["Resource"] == [
        {"Fn::GetAtt": ["DatabaseCluster", "MasterUserSecret.SecretArn"]}, {"Ref": "AppSecretKeys"},
    ]


# ------------------------------------------------------- finalized app template

@pytest.mark.parametrize("stage", STAGES)
def test_app_template_runs_every_function_under_an_infra_role_with_no_chalice_role_left(stage, app_templates):
    template = ft.load_template(app_templates[stage])
    assert not resources_of(template, "AWS::IAM::Role")
    for function in resources_of(template, "AWS::Serverless::Function").values():
        props = function["Properties"]
        consumer = any(e["Type"] == "SQS" for e in props.get("Events", {}).values())
        expected = "JobsFunctionRoleArn" if consumer else "AppFunctionRoleArn"
        assert props["Role"] == {"Fn::ImportValue": f"stepflow-{stage}-{expected}"}


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("priority", PRIORITIES)
def test_app_template_consumes_each_queue_with_the_configured_timeout(stage, priority, app_templates):
    template = ft.load_template(app_templates[stage])
    (function,) = [f for f in resources_of(template, "AWS::Serverless::Function").values()
                   if f["Properties"]["Handler"].rsplit(".", 1)[-1] == f"jobs_{priority}"]
    (event,) = [e["Properties"] for e in function["Properties"]["Events"].values() if e["Type"] == "SQS"]
    name = ft._queue_name_from_event(event)
    assert name == f"{stage_env(stage)['QUEUE_NAME_PREFIX']}-{priority}"
    queue = ft.infra_queues(RESOURCES, stage)[name]
    assert function["Properties"]["Timeout"] == lambda_setting(stage, f"jobs_{priority}", "lambda_timeout", 60)
    window = event.get("MaximumBatchingWindowInSeconds", 0)
    assert queue["visibility"] >= 6 * function["Properties"]["Timeout"] + window


@pytest.mark.parametrize("stage", STAGES)
def test_app_template_schedules_run_at_the_documented_rates(stage, app_templates):
    template = ft.load_template(app_templates[stage])
    schedules = {}
    for function in resources_of(template, "AWS::Serverless::Function").values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "Schedule":
                schedules[function["Properties"]["Handler"].rsplit(".", 1)[-1]] = event["Properties"]["Schedule"]
    for name, expression in SCHEDULES.items():
        assert schedules[name] == expression
    rollover = schedules["partition_rollover"]
    assert rollover == "rate(1 day)" or (rollover.startswith("cron(") and rollover.split()[2:4] == ["*", "*"])


@pytest.mark.parametrize("stage", STAGES)
def test_api_function_fits_the_api_gateway_limit(stage, app_templates):
    template = ft.load_template(app_templates[stage])
    api = template["Resources"]["APIHandler"]["Properties"]
    assert api["Timeout"] <= 29
    assert api["FunctionName"] == f"{CONFIG['app_name']}-{stage}"


@pytest.mark.parametrize("stage", STAGES)
def test_app_template_environment_names_are_settings_the_app_reads(stage, app_templates):
    from chalicelib import settings

    known = {v for k, v in vars(settings).items() if k.isupper() and isinstance(v, str)}
    template = ft.load_template(app_templates[stage])
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(env) <= known, set(env) - known
    assert env["QUEUE_NAME_PREFIX"] == stage_env(stage)["QUEUE_NAME_PREFIX"]
    assert env["STAGE"] == stage
    assert "password" not in json.dumps(env).lower()


@pytest.mark.parametrize("stage", STAGES)
def test_app_template_has_no_yaml_aliases_cloudformation_would_reject(stage, app_templates):
    text = app_templates[stage].read_text()
    assert "&id" not in text and "*id" not in text


# ------------------------------------------------------- the checker itself

def _finalized_fixture_template() -> dict:
    """A minimal Chalice-shaped template: one consumer of the dev critical queue."""
    template = {
        "Resources": {
            "JobsCritical": {"Type": "AWS::Serverless::Function", "Properties": {
                "Handler": "app.jobs_critical", "Timeout": 900,
                "Role": {"Fn::GetAtt": ["JobsCriticalRole", "Arn"]},
                "Events": {"E": {"Type": "SQS", "Properties": {
                    "Queue": {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
                                         "stepflow-dev-jobs-critical"},
                    "BatchSize": 1, "MaximumBatchingWindowInSeconds": 0}}}}},
            "JobsCriticalRole": {"Type": "AWS::IAM::Role", "Properties": {}},
        }
    }
    return ft.finalize(template, "dev", "stepflow-gateway")


def test_checker_reports_a_visibility_timeout_below_six_times_the_consumer_timeout():
    resources = copy.deepcopy(RESOURCES)
    resources["Parameters"]["QueueVisibilityTimeout"]["Default"] = 5399
    problems = ft.check(_finalized_fixture_template(), resources, "dev")
    assert any("visibility timeout 5399 s < 6 x 900 s" in p for p in problems), problems


def test_checker_reports_a_max_receive_count_below_five():
    resources = copy.deepcopy(RESOURCES)
    resources["Parameters"]["MaxReceiveCount"]["Default"] = 3
    problems = ft.check(_finalized_fixture_template(), resources, "dev")
    assert any("maxReceiveCount 3 < 5" in p for p in problems), problems


def test_checker_reports_queues_nobody_consumes_and_queues_infra_does_not_create():
    template = _finalized_fixture_template()
    event = template["Resources"]["JobsCritical"]["Properties"]["Events"]["E"]["Properties"]
    event["Queue"] = "arn:aws:sqs:us-east-1:123456789012:stepflow-dev-jobs-urgent"
    problems = ft.check(template, RESOURCES, "dev")
    assert any("stepflow-dev-jobs-urgent, which infra/resources.yaml does not create" in p for p in problems)
    assert any(p == "no function consumes stepflow-dev-jobs-critical" for p in problems)


def test_finalize_replaces_the_chalice_role_and_adds_a_log_group_with_retention():
    template = _finalized_fixture_template()
    assert "JobsCriticalRole" not in template["Resources"]
    log_group = template["Resources"]["JobsCriticalLogGroup"]["Properties"]
    assert log_group == {"LogGroupName": "/aws/lambda/stepflow-gateway-dev-jobs_critical", "RetentionInDays": 30}


def test_package_scripts_are_valid_bash():
    for script in ("package.sh", "secret_keys.sh"):
        proc = subprocess.run(["bash", "-n", str(INFRA / script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_unknown_routes_answer_404_in_the_envelope_through_api_gateway(stage, app_templates):
    template = ft.load_template(app_templates[stage])
    responses = [r["Properties"] for r in template["Resources"].values()
                 if r.get("Type") == "AWS::ApiGateway::GatewayResponse"]
    assert len(responses) == 1
    resp = responses[0]
    assert resp["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN" and resp["StatusCode"] == "404"
    body = resp["ResponseTemplates"]["application/json"]
    assert '"code": "NOT_FOUND"' in body and "$context.requestId" in body
