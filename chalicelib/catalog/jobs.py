"""Catalog job types (run by chalicelib.jobs on SQS or in-process),
registered when this module is imported (app.py imports it).

- `catalog.import_url` {url, meta, created_by}: fetch through the outbound
  guard and store a template, with the asynchronous size limit.
- `catalog.import_document` {template_id | content, name?, version?,
  base_url?, ...}: parse and create a document (large specs).
"""
from __future__ import annotations

from chalicelib.errors import AppError
from chalicelib.jobs.registry import JobContext, PermanentJobError, register_job


def _is_permanent(exc: AppError) -> bool:
    """Retrying cannot fix a refused input, a refused target or a 4xx from the spec's URL."""
    status = exc.details.get("status_code") if isinstance(exc.details, dict) else None
    return (exc.status < 500 or getattr(exc, "error_type", None) == "refused"
            or (isinstance(status, int) and 400 <= status < 500))


def _permanent(exc: AppError) -> PermanentJobError:
    err = PermanentJobError(f"{exc.code}: {exc.message}")
    err.details = exc.details
    return err


@register_job("catalog.import_url", max_attempts=3)
def import_url_job(ctx: JobContext) -> dict:
    from chalicelib.catalog.templates import import_template_from_url
    p = ctx.payload
    ctx.progress(10, "fetching and parsing")
    try:
        # The template is written in one transaction with the job's success:
        # a cancel before the commit leaves no template.
        return import_template_from_url(p["url"], p.get("meta") or {}, p.get("created_by"), asynchronous=True,
                                        commit=lambda store: ctx.commit(store, _template_summary))
    except AppError as exc:
        if _is_permanent(exc):
            raise _permanent(exc) from exc
        raise


def _template_summary(row: dict) -> dict:
    return {"template_id": str(row["id"]), "name": row["name"], "version": row["version"],
            "operation_count": row["operation_count"], "warning_count": row["warning_count"]}


@register_job("catalog.import_document", max_attempts=3)
def import_document_job(ctx: JobContext) -> dict:
    from chalicelib.catalog import documents
    from chalicelib.secrets import get_box
    p = dict(ctx.payload)
    p["auth_config"] = get_box().unseal(p.pop("sealed_auth_config", None))
    ctx.progress(10, "parsing")
    try:
        return ctx.commit(lambda: documents.import_document(None, asynchronous=True, **p), _document_summary)
    except AppError as exc:
        if _is_permanent(exc):
            raise _permanent(exc) from exc
        raise


def _document_summary(out: dict) -> dict:
    return {"document_id": str(out["document"]["id"]), "endpoints": len(out["endpoints"]),
            "warning_count": out["warning_count"]}
