-- The gateway reads the spec's security and servers (issue 18).
-- security_schemes: {scheme name: the spec's securitySchemes object} for the
-- schemes the endpoint's effective `security` names ({} when none).
-- servers: the endpoint's own effective servers (operation over path item),
-- [{"url": resolved URL, "description"?}]; NULL = the document's server.
ALTER TABLE api_endpoints ADD COLUMN IF NOT EXISTS security_schemes JSONB;
ALTER TABLE api_endpoints ADD COLUMN IF NOT EXISTS servers JSONB;
-- server_index: which of the spec's document-level servers base_url follows
-- (NULL: base_url was given by the user, or the first server by default).
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS server_index INTEGER;
-- the call was made to a deprecated endpoint (spec `deprecated: true` or status)
ALTER TABLE api_call_logs ADD COLUMN IF NOT EXISTS deprecated BOOLEAN NOT NULL DEFAULT false;
