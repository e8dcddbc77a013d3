-- When an endpoint became deprecated (RFC 9745: the gateway answers
-- `Deprecation: @<unix seconds>` of it). Set by code when the spec first marks
-- the operation `deprecated: true` (import, re-import) or an operator sets the
-- status `deprecated`; kept while it stays deprecated; NULL otherwise.
ALTER TABLE api_endpoints ADD COLUMN IF NOT EXISTS deprecated_at TIMESTAMPTZ;
-- Endpoints deprecated before this column existed: their last change is the
-- earliest moment known to have them deprecated.
UPDATE api_endpoints SET deprecated_at = updated_at
 WHERE deprecated_at IS NULL AND (is_deprecated OR status = 'deprecated');

-- A document's values for the spec's server variables (name -> value; NULL:
-- the spec's defaults), checked by chalicelib.catalog.servers.check_variables
-- and used to resolve its servers (document, path and operation level).
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS server_variables JSONB;
