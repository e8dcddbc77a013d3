-- Catalog import: what the seed-000 tables lack for imports.
-- Import warnings and provenance on documents and templates; the effective
-- security requirement per endpoint (for the gateway); when re-import found
-- an endpoint removed from the spec (it is kept, inactive).
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS warnings JSONB NOT NULL DEFAULT '[]';
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS warning_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS spec_version VARCHAR(20);
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS source_url TEXT;
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS skipped_operations JSONB NOT NULL DEFAULT '[]';

ALTER TABLE openapi_templates ADD COLUMN IF NOT EXISTS source_url TEXT;
ALTER TABLE openapi_templates ADD COLUMN IF NOT EXISTS spec_version VARCHAR(20);
ALTER TABLE openapi_templates ADD COLUMN IF NOT EXISTS operation_count INTEGER NOT NULL DEFAULT 0;

ALTER TABLE api_endpoints ADD COLUMN IF NOT EXISTS security JSONB;
ALTER TABLE api_endpoints ADD COLUMN IF NOT EXISTS removed_at TIMESTAMPTZ;

-- Spec texts are megabytes: lz4 compresses them several times faster than
-- the default pglz (import latency), at a similar ratio.
-- A server built without lz4 (the embedded pgserver of `make run`) keeps pglz.
DO $$
BEGIN
    ALTER TABLE api_documents ALTER COLUMN original_content SET COMPRESSION lz4;
    ALTER TABLE api_documents ALTER COLUMN parsed_spec SET COMPRESSION lz4;
    ALTER TABLE openapi_templates ALTER COLUMN template_content SET COMPRESSION lz4;
    ALTER TABLE api_endpoints ALTER COLUMN parameters SET COMPRESSION lz4;
    ALTER TABLE api_endpoints ALTER COLUMN request_body_schema SET COMPRESSION lz4;
    ALTER TABLE api_endpoints ALTER COLUMN response_schemas SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 not available: spec columns keep the default compression';
END $$;

CREATE INDEX IF NOT EXISTS idx_audit_changed_at ON api_audit_logs (changed_at DESC);
