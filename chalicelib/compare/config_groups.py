"""Config groups (seed 003 section 2.3): named pairs of environment configs
plus query and sharding settings, reusable by comparison requests.

group_type "cassandra" (pro_config/test_config as seed 003) or "redis"
(cluster1_config/cluster2_config, stored in the same two columns). Secrets
are sealed at rest and masked in every answer; on update a field sent back
as the mask keeps its stored value.

Each side's config is checked when saved by its engine's validator
(`_VALIDATORS`: group type -> fn(config: dict, field: str) raising
ValidationError), imported when a group is first saved.
"""
from __future__ import annotations

from typing import Any, Callable

from chalicelib.db import get_db
from chalicelib.db.where import Where
from chalicelib.errors import NotFound, ValidationError, field_error, field_errors
from chalicelib.secrets import merge_secrets

from .sealing import mask_secrets, open_secrets, seal_secrets

GROUP_TYPES = ("cassandra", "redis")


def _validate_redis(cfg: dict, field: str) -> None:
    from chalicelib.validation import validate

    from .redis.config import RedisSideConfig
    validate(RedisSideConfig, cfg, field)


def _validate_cassandra(cfg: dict, field: str) -> None:
    from .cassandra.config import validate_group_config
    validate_group_config(cfg, field)


_VALIDATORS: dict[str, Callable[[dict, str], None]] = {"cassandra": _validate_cassandra, "redis": _validate_redis}


def _validate(group_type: str, pro: dict | None, test: dict | None) -> None:
    fn = _VALIDATORS.get(group_type)
    names = ("cluster1_config", "cluster2_config") if group_type == "redis" else ("pro_config", "test_config")
    for cfg, field in ((pro, names[0]), (test, names[1])):
        if cfg is None:
            continue
        if not isinstance(cfg, dict):
            raise ValidationError(f"{field} must be an object",
                                  field_errors(field_error(["body", field], "not an object", "dict_type")))
        if fn is not None:
            fn(cfg, field)


def normalise_body(body: dict) -> dict:
    """Accept cluster1_config/cluster2_config for Redis groups; infer group_type."""
    b = dict(body)
    c1, c2 = b.pop("cluster1_config", None), b.pop("cluster2_config", None)
    if c1 is not None or c2 is not None:
        if b.get("group_type") not in (None, "redis"):
            raise ValidationError("cluster1_config/cluster2_config belong to a redis group",
                                  field_errors(field_error(["body", "group_type"], "must be 'redis'", "literal_error")))
        b["group_type"] = "redis"
        if c1 is not None:
            b["pro_config"] = c1
        if c2 is not None:
            b["test_config"] = c2
    return b


def public(row: dict, full: bool = True) -> dict:
    out = {k: row[k] for k in ("id", "name", "description", "group_type", "created_at", "updated_at")}
    if full:
        pro, test = mask_secrets(row["pro_config"]), mask_secrets(row["test_config"])
        out.update(pro_config=pro, test_config=test, query_config=row["query_config"] or {},
                   sharding_config=row["sharding_config"])
        if row["group_type"] == "redis":
            out.update(cluster1_config=pro, cluster2_config=test)
    return out


def create(body: dict, created_by: str | None = None, db=None) -> dict:
    b = normalise_body(body)
    gtype = b.get("group_type") or "cassandra"
    pro, test = b.get("pro_config") or {}, b.get("test_config") or {}
    _validate(gtype, pro, test)
    db = db or get_db()
    row = db.one(
        "INSERT INTO config_groups (name, description, group_type, pro_config, test_config, query_config, "
        "sharding_config, created_by) VALUES (:name, :description, :gtype, CAST(:pro AS jsonb), "
        "CAST(:test AS jsonb), CAST(:qc AS jsonb), CAST(:sc AS jsonb), CAST(:created_by AS uuid)) RETURNING *",
        name=b["name"], description=b.get("description"), gtype=gtype, pro=_j(seal_secrets(pro)),
        test=_j(seal_secrets(test)), qc=_j(b.get("query_config") or {}), sc=_j(b.get("sharding_config")),
        created_by=created_by)
    return row


def list_groups(limit: int, offset: int, group_type: str | None = None, db=None) -> tuple[list, int]:
    db = db or get_db()
    w = Where().when(group_type, "group_type = :gt", gt=group_type)
    rows, total = db.page(f"SELECT * FROM config_groups WHERE {w.sql}", order_by="created_at DESC, id DESC",
                          limit=limit, offset=offset, **w.params)
    return [public(r, full=False) for r in rows], total


def get_row(group_id: int, db=None) -> dict:
    db = db or get_db()
    row = db.one("SELECT * FROM config_groups WHERE id = :id", id=group_id)
    if row is None:
        raise NotFound(f"config group {group_id} not found")
    return row


def get_for_use(group_id: int, expected_type: str | None = None, db=None) -> dict:
    """The group with its secrets opened: for engines, never for answers."""
    row = get_row(group_id, db)
    if expected_type and row["group_type"] != expected_type:
        raise ValidationError(f"config group {group_id} is a {row['group_type']} group, not {expected_type}",
                              field_errors(field_error(["body", "config_group_id"],
                                                       f"expected a {expected_type} group", "group_type")))
    out = dict(row)
    out["pro_config"] = open_secrets(row["pro_config"])
    out["test_config"] = open_secrets(row["test_config"])
    return out


def update(group_id: int, body: dict, db=None) -> dict:
    db = db or get_db()
    with db.transaction():
        row = db.one("SELECT * FROM config_groups WHERE id = :id FOR UPDATE", id=group_id)
        if row is None:
            raise NotFound(f"config group {group_id} not found")
        b = normalise_body(body)
        gtype = b.get("group_type") or row["group_type"]
        old_pro, old_test = open_secrets(row["pro_config"]), open_secrets(row["test_config"])
        pro = merge_secrets(b["pro_config"], old_pro) if b.get("pro_config") is not None else old_pro
        test = merge_secrets(b["test_config"], old_test) if b.get("test_config") is not None else old_test
        _validate(gtype, pro, test)
        row = db.one(
            "UPDATE config_groups SET name = :name, description = :description, group_type = :gtype, "
            "pro_config = CAST(:pro AS jsonb), test_config = CAST(:test AS jsonb), "
            "query_config = CAST(:qc AS jsonb), sharding_config = CAST(:sc AS jsonb), updated_at = NOW() "
            "WHERE id = :id RETURNING *",
            id=group_id, name=b.get("name") or row["name"],
            description=b["description"] if "description" in b else row["description"], gtype=gtype,
            pro=_j(seal_secrets(pro)), test=_j(seal_secrets(test)),
            qc=_j(b["query_config"] if b.get("query_config") is not None else row["query_config"]),
            sc=_j(b["sharding_config"] if "sharding_config" in b else row["sharding_config"]))
    return row


def delete(group_id: int, db=None) -> None:
    db = db or get_db()
    if not db.execute("DELETE FROM config_groups WHERE id = :id", id=group_id):
        raise NotFound(f"config group {group_id} not found")


def _j(v: Any) -> str | None:
    if v is None:
        return None
    from chalicelib.jsontext import dumps
    return dumps(v)
