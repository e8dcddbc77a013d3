"""Creating a Cassandra whole-dataset run: resolve the two table configs
(or a config group), check both tables have the same primary key, split the
ring, and seal the spec the range jobs read.

    spec, public, segments = prepare(extra_body_fields, run_opts)
    spec = open_spec(sealed_body)      # configs as CassandraConfig again
"""
from __future__ import annotations

from typing import TYPE_CHECKING, cast

from chalicelib.errors import ValidationError, field_error, field_errors

if TYPE_CHECKING:
    from .models import CassandraRunBody


def _config(data, where: str):
    from chalicelib.compare.cassandra.config import CassandraConfig
    from chalicelib.web.api import validate_model
    return validate_model(CassandraConfig, data, where)


def prepare(extra: dict, run_opts: dict) -> tuple[dict, dict, list[dict], int | None]:
    """(spec to seal, public config, segments, config group id)."""
    from chalicelib.web.api import validate_model

    from . import cassandra_side as cs
    from . import ranges
    b = cast("CassandraRunBody", validate_model("chalicelib.compare.fullrun.models:CassandraRunBody", extra, "body"))
    pro, test = b.pro_config, b.test_config
    fields, exclude = list(b.fields_to_compare), list(b.exclude_fields)
    if b.config_group_id is not None:
        from chalicelib.compare.config_groups import get_for_use
        group = get_for_use(b.config_group_id, "cassandra")
        pro, test = pro or group.get("pro_config"), test or group.get("test_config")
        q = group.get("query_config") or {}
        fields = fields or list(q.get("fields_to_compare") or [])
        exclude = exclude or list(q.get("exclude_fields") or [])
    if not pro or not test:
        raise ValidationError("pro_config and test_config are required (or a config_group_id)",
                              field_errors(field_error(["body", "pro_config" if not pro else "test_config"],
                                                       "Field required", "missing")))
    pro_cfg, test_cfg = _config(pro, "pro_config"), _config(test, "test_config")
    pro_s = cs.connect(pro_cfg, "pro")
    try:
        test_s = cs.connect(test_cfg, "test")
        try:
            pk, ck = cs.key_columns(pro_s, pro_cfg)
            if cs.key_columns(test_s, test_cfg) != (pk, ck):
                raise ValidationError("the two tables have different primary keys",
                                      field_errors(field_error(["body", "test_config", "table"],
                                                               "primary key differs from pro's", "key_mismatch")))
            segs = ranges.plan(pro_s, run_opts["split_count"])
        finally:
            test_s.release()
    finally:
        pro_s.release()

    def sealed(cfg) -> dict:
        d = cfg.model_dump(mode="json")
        d["password"] = cfg.secret()
        return d
    spec = {"pro": sealed(pro_cfg), "test": sealed(test_cfg), "pk": pk, "ck": ck, "fields": fields,
            "exclude": exclude, "consistency": b.consistency_level, "compare_mode": b.compare_mode,
            "recheck_rounds": b.recheck_rounds, "recheck_delay_seconds": b.recheck_delay_seconds}
    public = {"pro_config": pro_cfg.public(), "test_config": test_cfg.public(), "partition_key": pk,
              "clustering_key": ck, "fields_to_compare": fields, "exclude_fields": exclude,
              "consistency_level": b.consistency_level, "compare_mode": b.compare_mode,
              "recheck_rounds": b.recheck_rounds, "recheck_delay_seconds": b.recheck_delay_seconds, "run": run_opts}
    return spec, public, segs, b.config_group_id


def open_spec(spec: dict) -> dict:
    out = dict(spec)
    out["pro"], out["test"] = _config(spec["pro"], "pro_config"), _config(spec["test"], "test_config")
    return out
