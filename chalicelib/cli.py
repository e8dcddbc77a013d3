"""Shell commands: `python -m chalicelib.cli create-key --role admin`,
`python -m chalicelib.cli migrate` (then the endpoint-security backfill),
`python -m chalicelib.cli backfill-endpoint-security`, `python -m chalicelib.cli gen-secret-key`,
`python -m chalicelib.cli redrive-dlq --priority default [--dry-run] [--limit N]`."""
from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    ck = sub.add_parser("create-key", help="create an API key and print it once")
    ck.add_argument("--role", required=True, choices=["admin", "operator", "viewer"])
    ck.add_argument("--name", default=None)
    ck.add_argument("--permission", action="append", default=[], help="repeatable")
    ck.add_argument("--json", action="store_true", help="print the whole record as JSON")
    sub.add_parser("migrate", help="apply pending migrations, then backfill-endpoint-security")
    sub.add_parser("backfill-endpoint-security",
                   help="record the spec security/servers of endpoints imported before migration 070 (JSON report)")
    sub.add_parser("gen-secret-key", help="print a new Fernet key for SECRET_KEYS")
    rd = sub.add_parser("redrive-dlq", help="move a dead-letter queue's jobs back to their queue (JSON report)")
    rd.add_argument("--priority", required=True, choices=["critical", "default", "low"])
    rd.add_argument("--limit", type=int, default=1000, help="at most this many messages")
    rd.add_argument("--dry-run", action="store_true", help="report what would move, change nothing")
    args = parser.parse_args(argv)

    if args.command == "gen-secret-key":
        from chalicelib.secrets import generate_key
        print(generate_key())
        return 0
    if args.command == "redrive-dlq":
        from chalicelib.aws import client
        from chalicelib.jobs.redrive import redrive
        from chalicelib.settings import get_settings
        report = redrive(args.priority, client("sqs"), get_settings().queue_urls, limit=args.limit,
                         dry_run=args.dry_run)
        print(json.dumps(report))
        return 0
    from chalicelib.db import get_db
    from chalicelib.db.migrate import migrate
    result = migrate(get_db())
    if args.command in ("migrate", "backfill-endpoint-security"):
        from chalicelib.catalog.backfill import backfill_endpoint_security
        report = backfill_endpoint_security(get_db())
        print(json.dumps(report if args.command != "migrate" else {**result, "endpoint_security_backfill": report}))
        return 0
    from chalicelib.keys.service import create_key
    row = create_key(args.role, args.permission, args.name)
    if args.json:
        from chalicelib.jsontext import dumps
        print(dumps(row))
    else:
        print(row["key"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
