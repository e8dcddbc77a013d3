-- Management API keys (DESIGN 7): shown once, stored as a SHA-256 hash.
CREATE TABLE api_keys (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255),
    key_prefix VARCHAR(32) NOT NULL,
    key_hash CHAR(64) NOT NULL,
    role VARCHAR(20) NOT NULL,
    permissions TEXT[] NOT NULL DEFAULT '{}',
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    CONSTRAINT uk_api_keys_hash UNIQUE (key_hash),
    CONSTRAINT chk_api_keys_role CHECK (role IN ('admin', 'operator', 'viewer'))
);
CREATE INDEX idx_api_keys_created_at ON api_keys (created_at);
