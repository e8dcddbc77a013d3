"""Finish the SAM template `chalice package` writes so it deploys beside infra/resources.yaml.

Chalice generates the functions, API, SQS event sources and schedules, plus
one IAM role per function from its own policy analysis. This script makes the
template use what the `stepflow-<stage>` infrastructure stack exports:

- every function runs under one of the two least-privilege roles of
  infra/resources.yaml (SQS consumers: JobsFunctionRole; the API and the
  schedules: AppFunctionRole); Chalice's generated roles are removed;
- every function gets the VPC placement (private subnets, function security
  group) and the environment the app's settings read (DATABASE_URL without a
  password, DATABASE_SECRET_ARN, SECRET_KEYS_SECRET_ARN, QUEUE_URL_*,
  QUEUE_NAME_PREFIX, STAGE) through SAM `Globals`;
- functions get the names `chalice deploy` would give them
  (`<app>-<stage>[-<function>]`) and a log group with a retention, so logs
  permissions can be scoped to those names;
- YAML aliases (Chalice emits `&id001`) are expanded: CloudFormation rejects them;
- the connection budget (infra/budget.py, numbers from the `ConnectionBudget`
  mapping of resources.yaml): container caps per function (reserved
  concurrency, SQS MaximumConcurrency), ReportBatchItemFailures on the SQS
  event sources, DB_POOL_MAX=1.

It then checks the rules that tie the two stacks together (queue names, the
visibility timeout >= 6x the consumer timeout, maxReceiveCount >= 5, the API
Gateway 29 s limit, the connection budget) and exits non-zero when one is broken.

    python infra/finalize_template.py finalize --stage dev dist/dev/sam.yaml
    python infra/finalize_template.py render --stage dev --out /tmp/sam.yaml
    python infra/finalize_template.py budget --stage prod     # the budget table

`render` builds the template from app.py and .chalice/config.json the way
`chalice package` does but without building deployment.zip (no pip download),
then finalizes and checks it; the tests use it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import budget  # noqa: E402  (infra/budget.py, beside this script)

ROOT = Path(__file__).resolve().parent.parent
RESOURCES_TEMPLATE = ROOT / "infra" / "resources.yaml"
PRIORITIES = ("critical", "default", "low")
API_GATEWAY_LIMIT_S = 29
MIN_MAX_RECEIVE_COUNT = 5
VISIBILITY_FACTOR = 6
LOG_RETENTION_DAYS = 30


# --------------------------------------------------------------------- YAML

class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short tags (!Ref, !Sub ...) into their long form."""


def _cfn_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def load_template(path: str | os.PathLike) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=CfnLoader)


def dump_template(template: dict, path: str | os.PathLike) -> None:
    text = yaml.dump(template, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=120)
    Path(path).write_text(text, encoding="utf-8")


# ------------------------------------------------------------------ helpers

def _import(stage: str, name: str) -> dict:
    return {"Fn::ImportValue": f"stepflow-{stage}-{name}"}


def queue_name(stage: str, priority: str) -> str:
    return f"stepflow-{stage}-jobs-{priority}"


def _handler_name(function: dict) -> str:
    # "app.jobs_critical" -> "jobs_critical"; the REST API handler is "app.app".
    return function["Properties"]["Handler"].rsplit(".", 1)[-1]


def function_name(app_name: str, stage: str, function: dict) -> str:
    handler = _handler_name(function)
    return f"{app_name}-{stage}" if handler == "app" else f"{app_name}-{stage}-{handler}"


def _sqs_events(function: dict) -> list[dict]:
    events = function["Properties"].get("Events") or {}
    return [e["Properties"] for e in events.values() if e.get("Type") == "SQS"]


def _queue_name_from_event(event: dict) -> str:
    arn = event["Queue"]
    if isinstance(arn, dict):
        arn = arn.get("Fn::Sub", "")
    return str(arn).rsplit(":", 1)[-1]


def _functions(template: dict) -> dict[str, dict]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == "AWS::Serverless::Function"}


def _sub_stage(value: Any, stage: str) -> str:
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"]
    return str(value).replace("${Stage}", stage)


def _param_default(resources_template: dict, value: Any) -> Any:
    if isinstance(value, dict) and "Ref" in value:
        return resources_template["Parameters"][value["Ref"]]["Default"]
    return value


def infra_queues(resources_template: dict, stage: str) -> dict[str, dict]:
    """Queue name -> {"visibility", "max_receive_count", "dlq", "retention"} from resources.yaml defaults."""
    resources = resources_template["Resources"]
    queues: dict[str, dict] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::SQS::Queue":
            continue
        props = resource["Properties"]
        redrive = props.get("RedrivePolicy")
        entry = {
            "logical_id": logical_id,
            "visibility": int(_param_default(resources_template, props.get("VisibilityTimeout", 30))),
            "retention": int(_param_default(resources_template, props.get("MessageRetentionPeriod", 345600))),
            "max_receive_count": None,
            "dlq": None,
        }
        if redrive:
            entry["max_receive_count"] = int(_param_default(resources_template, redrive["maxReceiveCount"]))
            entry["dlq"] = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        queues[_sub_stage(props["QueueName"], stage)] = entry
    return queues


# ----------------------------------------------------------------- finalize

def globals_for(stage: str) -> dict:
    return {
        "Function": {
            "Environment": {
                "Variables": {
                    "STAGE": stage,
                    "DATABASE_URL": {
                        "Fn::Sub": [
                            "postgresql://${User}@${Host}:${Port}/${Name}",
                            {
                                "User": _import(stage, "DatabaseUsername"),
                                "Host": _import(stage, "DatabaseEndpoint"),
                                "Port": _import(stage, "DatabasePort"),
                                "Name": _import(stage, "DatabaseName"),
                            },
                        ]
                    },
                    "DATABASE_SECRET_ARN": _import(stage, "DatabaseSecretArn"),
                    "SECRET_KEYS_SECRET_ARN": _import(stage, "SecretKeysSecretArn"),
                    "QUEUE_URL_CRITICAL": _import(stage, "JobsCriticalQueueUrl"),
                    "QUEUE_URL_DEFAULT": _import(stage, "JobsDefaultQueueUrl"),
                    "QUEUE_URL_LOW": _import(stage, "JobsLowQueueUrl"),
                    "QUEUE_NAME_PREFIX": f"stepflow-{stage}-jobs",
                }
            },
            "VpcConfig": {
                "SecurityGroupIds": [_import(stage, "FunctionSecurityGroupId")],
                "SubnetIds": {"Fn::Split": [",", _import(stage, "PrivateSubnetIds")]},
            },
        }
    }


def _deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out.setdefault(key, value)
    return out


def finalize(template: dict, stage: str, app_name: str, resources_template: dict | None = None) -> dict:
    """Rewrite `template` (Chalice SAM output) in place and return it."""
    resources = template["Resources"]
    replaced_roles: set[str] = set()
    for logical_id, function in _functions(template).items():
        props = function["Properties"]
        role = props.get("Role")
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            replaced_roles.add(role["Fn::GetAtt"][0])
        consumer = bool(_sqs_events(function))
        props["Role"] = _import(stage, "JobsFunctionRoleArn" if consumer else "AppFunctionRoleArn")
        name = function_name(app_name, stage, function)
        props["FunctionName"] = name
        log_group_id = f"{logical_id}LogGroup"
        resources[log_group_id] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/lambda/{name}", "RetentionInDays": LOG_RETENTION_DAYS},
        }
        function["DependsOn"] = sorted(set(function.get("DependsOn", [])) | {log_group_id})
    for role_id in replaced_roles:
        if resources.get(role_id, {}).get("Type") == "AWS::IAM::Role":
            del resources[role_id]
    template["Globals"] = _deep_merge(template.get("Globals") or {}, globals_for(stage))
    _add_not_found_response(resources)
    budget.apply(template, resources_template or load_template(RESOURCES_TEMPLATE), stage)
    return template


# An unknown path never reaches Lambda: API Gateway answers it with 403
# MISSING_AUTHENTICATION_TOKEN. This gateway response turns that into the
# service's 404 envelope, as `chalicelib.web.local` does for `make run`.
NOT_FOUND_TEMPLATE = (
    '{"success": false, "error": {"code": "NOT_FOUND", '
    '"message": "no route for $context.httpMethod $context.path; see GET /api/openapi.json", '
    '"details": null}, "timestamp": "$context.requestTime", "request_id": "$context.requestId"}'
)


def _add_not_found_response(resources: dict) -> None:
    apis = [rid for rid, r in resources.items() if r.get("Type") == "AWS::Serverless::Api"]
    for rid in apis:
        resources[f"{rid}NotFoundResponse"] = {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": rid},
                "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
                "StatusCode": "404",
                "ResponseParameters": {"gatewayresponse.header.X-Request-Id": "context.requestId"},
                "ResponseTemplates": {"application/json": NOT_FOUND_TEMPLATE},
            },
        }


# -------------------------------------------------------------------- rules

def check(template: dict, resources_template: dict, stage: str) -> list[str]:
    """Problems (empty when fine) between the finalized app template and resources.yaml."""
    problems: list[str] = []
    queues = infra_queues(resources_template, stage)
    consumed: set[str] = set()
    for logical_id, function in _functions(template).items():
        props = function["Properties"]
        timeout = int(props.get("Timeout", 3))
        role = props.get("Role")
        if not (isinstance(role, dict) and "Fn::ImportValue" in role):
            problems.append(f"{logical_id}: Role is not one of the infra roles: {role!r}")
        for event in _sqs_events(function):
            name = _queue_name_from_event(event)
            consumed.add(name)
            queue = queues.get(name)
            if queue is None:
                problems.append(f"{logical_id}: consumes {name}, which infra/resources.yaml does not create")
                continue
            window = int(event.get("MaximumBatchingWindowInSeconds", 0))
            if queue["visibility"] < VISIBILITY_FACTOR * timeout + window:
                problems.append(
                    f"{name}: visibility timeout {queue['visibility']} s < {VISIBILITY_FACTOR} x {timeout} s"
                    f" (+{window} s batching window) of {logical_id}"
                )
            if (queue["max_receive_count"] or 0) < MIN_MAX_RECEIVE_COUNT:
                problems.append(f"{name}: maxReceiveCount {queue['max_receive_count']} < {MIN_MAX_RECEIVE_COUNT}")
        if _handler_name(function) == "app" and timeout > API_GATEWAY_LIMIT_S:
            problems.append(f"{logical_id}: timeout {timeout} s exceeds API Gateway's {API_GATEWAY_LIMIT_S} s")
    for priority in PRIORITIES:
        if queue_name(stage, priority) not in consumed:
            problems.append(f"no function consumes {queue_name(stage, priority)}")
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::IAM::Role":
            problems.append(f"{logical_id}: Chalice-generated role left in the template")
    problems += budget.problems(template, resources_template, stage)
    return problems


# ------------------------------------------------------------------- render

def render(project_dir: str, stage: str) -> dict:
    """The SAM template `chalice package` would write, without building deployment.zip."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
    from chalice.deploy.deployer import (
        BaseDeployStep, BuildStage, InjectDefaults, LambdaEventSourcePolicyInjector, SwaggerBuilder,
        WebsocketPolicyInjector,
    )
    from chalice.deploy.swagger import CFNSwaggerGenerator
    from chalice.package import PackageOptions, ResourceBuilder, SAMTemplateGenerator

    class _NoBuild(BaseDeployStep):
        def handle_deploymentpackage(self, config, resource):  # noqa: ARG002 (chalice step API)
            resource.filename = "./deployment.zip"

        def handle_filebasediampolicy(self, config, resource):  # noqa: ARG002
            resource.document = {"Version": "2012-10-17", "Statement": []}

        def handle_autogeniampolicy(self, config, resource):  # noqa: ARG002
            if isinstance(resource.document, models.Placeholder):
                resource.document = {"Version": "2012-10-17", "Statement": []}

    class _Options(PackageOptions):
        def __init__(self):
            pass

        def service_principal(self, service):
            return f"{service}.amazonaws.com"

    # As the chalice CLI does: the stage's environment_variables go into
    # os.environ before app.py is imported, from the project directory.
    project_dir = os.path.abspath(project_dir)
    os.chdir(project_dir)
    factory = CLIFactory(project_dir=project_dir, environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name=stage)
    build_stage = BuildStage(steps=[
        InjectDefaults(), _NoBuild(), SwaggerBuilder(swagger_generator=CFNSwaggerGenerator()),
        LambdaEventSourcePolicyInjector(), WebsocketPolicyInjector(),
    ])
    builder = ResourceBuilder(ApplicationGraphBuilder(), DependencyBuilder(), build_stage)
    resources = builder.construct_resources(config, stage)
    template = SAMTemplateGenerator(config, _Options()).generate(resources)
    # Round-trip through JSON: drops Chalice model objects, leaves plain data.
    return json.loads(json.dumps(template, default=str))


def app_name_of(project_dir: str | os.PathLike) -> str:
    with open(Path(project_dir) / ".chalice" / "config.json", encoding="utf-8") as fh:
        return json.load(fh)["app_name"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fin = sub.add_parser("finalize", help="rewrite a `chalice package` template in place")
    fin.add_argument("template")
    ren = sub.add_parser("render", help="build, finalize and check the template without deployment.zip")
    ren.add_argument("--out", required=True)
    bud = sub.add_parser("budget", help="print the stage's connection budget (from a template, or rendered)")
    bud.add_argument("template", nargs="?", help="a finalized template; rendered from app.py when omitted")
    for p in (fin, ren, bud):
        p.add_argument("--stage", default="dev")
        p.add_argument("--project-dir", default=str(ROOT))
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,15}", args.stage):
        parser.error(f"stage must match [a-z][a-z0-9-]{{0,15}} (it names AWS resources): {args.stage!r}")

    resources = load_template(RESOURCES_TEMPLATE)
    if args.command == "budget":
        if args.template:
            template = load_template(args.template)
        else:
            template = finalize(render(args.project_dir, args.stage), args.stage, app_name_of(args.project_dir),
                                resources)
        print(budget.table(template))
        problems = budget.problems(template, resources, args.stage)
        for problem in problems:
            print(f"infra rule broken: {problem}", file=sys.stderr)
        return 1 if problems else 0
    if args.command == "render":
        template, out = render(args.project_dir, args.stage), args.out
    else:
        template, out = load_template(args.template), args.template
    finalize(template, args.stage, app_name_of(args.project_dir), resources)
    dump_template(template, out)
    problems = check(template, resources, args.stage)
    for problem in problems:
        print(f"infra rule broken: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
