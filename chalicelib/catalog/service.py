"""The catalog's service API in one import, for other domains and tests:

    from chalicelib.catalog import service
    out = service.import_document(db, content=spec_text, name=None, base_url=None,
                                  auth_config=None)      # -> {"document", "endpoints", ...}
    service.delete_document(db, document_id)
    service.document_auth_config(db, document_id)        # decrypted, for the gateway

Each concept has its own module: `templates`, `documents`, `endpoints`,
`audit`, `auth_config`. `db` may be None (the container's Database) or a
Database already inside a transaction (calls join it).
"""
from __future__ import annotations

from chalicelib.catalog.audit import audit, list_audit_logs
from chalicelib.catalog.auth_config import document_auth_config
from chalicelib.catalog.documents import (
                                          DOC_COLUMNS,
                                          delete_document,
                                          document_out,
                                          get_document,
                                          get_document_content,
                                          import_document,
                                          list_documents,
                                          reimport_document,
                                          update_document,
)
from chalicelib.catalog.endpoints import ENDPOINT_FIELDS, get_endpoint, list_endpoints, patch_endpoint
from chalicelib.catalog.templates import (
                                          TEMPLATE_COLUMNS,
                                          create_template,
                                          delete_template,
                                          get_template,
                                          import_template_from_url,
                                          list_templates,
                                          parse,
                                          update_template,
)

__all__ = [
    "DOC_COLUMNS", "ENDPOINT_FIELDS", "TEMPLATE_COLUMNS", "audit", "create_template", "delete_document",
    "delete_template", "document_auth_config", "document_out", "get_document", "get_document_content",
    "get_endpoint", "get_template", "import_document", "import_template_from_url", "list_audit_logs",
    "list_documents", "list_endpoints", "list_templates", "parse", "patch_endpoint", "reimport_document",
    "update_document", "update_template",
]

# The name chalicelib.gateway.configs calls (it is `document_out`).
_document_out = document_out
