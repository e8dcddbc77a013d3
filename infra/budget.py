"""The connection budget: how many PostgreSQL connections each function may
hold, written into the app template and checked against the database.

The numbers live in one place, the `ConnectionBudget` mapping of
infra/resources.yaml (one row per stage), which also sets the database's
`max_connections` and the RDS Proxy's share of it. This module

- `apply(template, stage)`: caps the containers of every function of the
  finalized app template: reserved concurrency for the API and the schedules;
  for the SQS consumers `ScalingConfig.MaximumConcurrency` on the event source
  (critical > default > low) plus the same reserved concurrency, so a direct
  invoke cannot exceed it either; `ReportBatchItemFailures` on every SQS event
  source; `DB_POOL_MAX` (connections per container) in the environment; and
  the computed budget under `Metadata.StepFlowConnectionBudget`; an alarm
  when the API is throttled at its cap (the queues' backlog alarms live in
  resources.yaml);
- `problems(template, resources, stage)`: what breaks the budget (a function
  without a cap, demand above what the database or the proxy accepts, queue
  priorities out of order, an SQS source without partial batch responses);
- `table(template)`: the budget as text (`finalize_template.py budget`).
"""
from __future__ import annotations

from typing import Any

POOL_PER_CONTAINER = 1          # DB_POOL_MAX in Lambda: one connection per container
MIN_SQS_MAX_CONCURRENCY = 2     # AWS's lower bound for ScalingConfig.MaximumConcurrency
PRIORITIES = ("critical", "default", "low")
SCHEDULES = ("health_check_schedule", "partition_rollover", "stuck_job_sweep")
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


def stage_budget(resources_template: dict, stage: str) -> dict[str, int]:
    rows = resources_template.get("Mappings", {}).get("ConnectionBudget", {})
    if stage not in rows:
        raise KeyError(f"stage {stage!r} has no row in the ConnectionBudget mapping of infra/resources.yaml")
    return {k: int(v) for k, v in rows[stage].items()}


def usable_connections(b: dict[str, int]) -> int:
    """What the functions may hold: the smaller of the direct and the proxied limit."""
    direct = b["MaxConnections"] - b["ReservedConnections"]
    proxied = b["MaxConnections"] * b["ProxyMaxConnectionsPercent"] // 100
    return min(direct, proxied)


def containers_for(handler: str, b: dict[str, int]) -> int:
    """The container cap of a function, by its handler name (app.<handler>)."""
    if handler == "app":
        return b["Api"]
    if handler.startswith("jobs_"):
        return b["Jobs" + handler[len("jobs_"):].capitalize()]
    if handler in SCHEDULES:
        return b["Schedules"]
    raise KeyError(f"no container cap for function {handler!r}: add it to infra/budget.py and the mapping")


def _handler(function: dict) -> str:
    return function["Properties"]["Handler"].rsplit(".", 1)[-1]


def _functions(template: dict) -> dict[str, dict]:
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == "AWS::Serverless::Function"}


def _sqs_events(function: dict) -> list[dict]:
    events = function["Properties"].get("Events") or {}
    return [e["Properties"] for e in events.values() if e.get("Type") == "SQS"]


def apply(template: dict, resources_template: dict, stage: str) -> dict:
    b = stage_budget(resources_template, stage)
    rows = []
    for logical_id, function in sorted(_functions(template).items()):
        props = function["Properties"]
        handler = _handler(function)
        containers = containers_for(handler, b)
        props["ReservedConcurrentExecutions"] = containers
        for event in _sqs_events(function):
            event["ScalingConfig"] = {"MaximumConcurrency": containers}
            event["FunctionResponseTypes"] = [REPORT_BATCH_ITEM_FAILURES]
        rows.append({"function": "api_handler" if handler == "app" else handler, "logical_id": logical_id, "containers": containers,
                     "connections_per_container": POOL_PER_CONTAINER,
                     "connections": containers * POOL_PER_CONTAINER})
        if handler == "app":
            template["Resources"][f"{logical_id}ThrottleAlarm"] = _throttle_alarm(logical_id, containers)
    env = template.setdefault("Globals", {}).setdefault("Function", {}).setdefault("Environment", {})
    env.setdefault("Variables", {})["DB_POOL_MAX"] = str(POOL_PER_CONTAINER)
    template.setdefault("Metadata", {})["StepFlowConnectionBudget"] = {
        "max_connections": b["MaxConnections"],
        "reserved_connections": b["ReservedConnections"],
        "proxy_max_connections_percent": b["ProxyMaxConnectionsPercent"],
        "usable": usable_connections(b),
        "demand": sum(r["connections"] for r in rows),
        "functions": rows,
    }
    return template


def _throttle_alarm(function_id: str, containers: int) -> dict:
    """The API's containers are all busy: Lambda throttles instead of exceeding the budget."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": (
                f"The REST API hit its reserved concurrency ({containers} containers, its share of the "
                "connection budget) and requests were throttled. Raise Api in the stage's ConnectionBudget "
                "row of infra/resources.yaml together with MaxConnections."),
            "Namespace": "AWS/Lambda", "MetricName": "Throttles",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}],
            "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        },
    }


def _pool_max(template: dict) -> int:
    env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    return int(env.get("DB_POOL_MAX", 0) or 0)


def problems(template: dict, resources_template: dict, stage: str) -> list[str]:
    """Budget rules broken by a finalized app template (empty when it holds)."""
    found: list[str] = []
    try:
        b = stage_budget(resources_template, stage)
    except KeyError as exc:
        return [str(exc.args[0])]
    pool = _pool_max(template)
    if pool < 1:
        found.append("DB_POOL_MAX is not set in the functions' environment: connections per container unknown")
        pool = 1
    demand = 0
    sqs_caps: dict[str, int] = {}
    for logical_id, function in _functions(template).items():
        props = function["Properties"]
        reserved = props.get("ReservedConcurrentExecutions")
        events = _sqs_events(function)
        caps = [e.get("ScalingConfig", {}).get("MaximumConcurrency") for e in events]
        if events and any(c is None for c in caps):
            found.append(f"{logical_id}: an SQS event source has no ScalingConfig.MaximumConcurrency")
        bounds = [int(c) for c in caps if c is not None] + ([int(reserved)] if reserved is not None else [])
        if not bounds:
            found.append(f"{logical_id}: no concurrency cap (reserved concurrency or MaximumConcurrency)")
            continue
        # Several event sources on one function add up unless reserved concurrency caps them.
        containers = int(reserved) if reserved is not None else sum(int(c) for c in caps)
        demand += containers * pool
        for event, cap in zip(events, caps):
            if cap is not None and int(cap) < MIN_SQS_MAX_CONCURRENCY:
                found.append(f"{logical_id}: MaximumConcurrency {cap} < {MIN_SQS_MAX_CONCURRENCY} (AWS minimum)")
            # Every source, whatever its batch size: the handlers answer batchItemFailures,
            # which Lambda ignores (and retries the whole batch) without this.
            if REPORT_BATCH_ITEM_FAILURES not in (event.get("FunctionResponseTypes") or []):
                found.append(f"{logical_id}: SQS event source without {REPORT_BATCH_ITEM_FAILURES}")
        handler = _handler(function)
        if handler.startswith("jobs_") and caps and caps[0] is not None:
            sqs_caps[handler[len("jobs_"):]] = int(caps[0])
    usable = usable_connections(b)
    if demand > usable:
        found.append(f"connection budget exceeded for stage {stage}: functions may hold {demand} connections, "
                     f"the database accepts {usable} for them (max_connections {b['MaxConnections']}, "
                     f"{b['ReservedConnections']} reserved, proxy {b['ProxyMaxConnectionsPercent']}%)")
    order = [sqs_caps.get(p) for p in PRIORITIES]
    if all(c is not None for c in order) and not order[0] > order[1] > order[2]:
        found.append(f"queue concurrency must be critical > default > low, got {dict(zip(PRIORITIES, order))}")
    return found


def table(template: dict) -> str:
    meta = template["Metadata"]["StepFlowConnectionBudget"]
    lines = [f"{'function':24s} {'containers':>10s} {'x conn':>6s} {'= conns':>8s}"]
    for r in meta["functions"]:
        lines.append(f"{r['function']:24s} {r['containers']:>10d} {r['connections_per_container']:>6d}"
                     f" {r['connections']:>8d}")
    lines.append(f"{'total':24s} {'':>10s} {'':>6s} {meta['demand']:>8d}")
    lines.append(f"usable {meta['usable']} of max_connections {meta['max_connections']} "
                 f"({meta['reserved_connections']} reserved direct; proxy "
                 f"{meta['proxy_max_connections_percent']}%)")
    return "\n".join(lines)


def summary(template: dict) -> dict[str, Any]:
    return dict(template["Metadata"]["StepFlowConnectionBudget"])
