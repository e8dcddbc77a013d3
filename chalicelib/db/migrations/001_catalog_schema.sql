-- Seed 000 schema with DESIGN decisions 1, 2 and 12: no foreign keys, no
-- triggers (updated_at and statistics are maintained by code), call logs
-- range-partitioned by month with a DEFAULT partition.

CREATE TABLE openapi_templates (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(255) NOT NULL,
    description TEXT,
    version VARCHAR(50) NOT NULL,
    category VARCHAR(100),
    tags TEXT[] NOT NULL DEFAULT '{}',
    template_content TEXT NOT NULL,
    content_type VARCHAR(20) NOT NULL DEFAULT 'yaml',
    is_public BOOLEAN NOT NULL DEFAULT false,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    CONSTRAINT uk_template_name_version UNIQUE (name, version),
    CONSTRAINT chk_template_content_type CHECK (content_type IN ('yaml', 'json')),
    CONSTRAINT chk_template_status CHECK (status IN ('active', 'inactive', 'deprecated'))
);
CREATE INDEX idx_template_category ON openapi_templates (category);
CREATE INDEX idx_template_tags ON openapi_templates USING GIN (tags);
CREATE INDEX idx_template_status ON openapi_templates (status);
CREATE INDEX idx_template_created_at ON openapi_templates (created_at);

CREATE TABLE api_documents (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    template_id UUID,
    name VARCHAR(255) NOT NULL,
    description TEXT,
    version VARCHAR(50) NOT NULL,
    base_url VARCHAR(500) NOT NULL,
    server_url VARCHAR(500),
    parsed_spec JSONB NOT NULL,
    original_content TEXT NOT NULL,
    content_type VARCHAR(20) NOT NULL,
    auth_config JSONB,
    rate_limit_config JSONB,
    timeout_config JSONB,
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    health_status VARCHAR(20) NOT NULL DEFAULT 'unknown',
    last_health_check TIMESTAMPTZ,
    total_endpoints INTEGER NOT NULL DEFAULT 0,
    active_endpoints INTEGER NOT NULL DEFAULT 0,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT uk_api_name_version UNIQUE (name, version),
    CONSTRAINT chk_doc_status CHECK (status IN ('active', 'inactive', 'error')),
    CONSTRAINT chk_doc_health_status CHECK (health_status IN ('healthy', 'unhealthy', 'unknown')),
    CONSTRAINT chk_doc_content_type CHECK (content_type IN ('yaml', 'json'))
);
CREATE INDEX idx_api_template_id ON api_documents (template_id);
CREATE INDEX idx_api_status ON api_documents (status);
CREATE INDEX idx_api_health_status ON api_documents (health_status);
CREATE INDEX idx_api_created_at ON api_documents (created_at);

CREATE TABLE api_endpoints (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    api_document_id UUID NOT NULL,
    path VARCHAR(500) NOT NULL,
    method VARCHAR(10) NOT NULL,
    operation_id VARCHAR(255),
    summary TEXT,
    description TEXT,
    tags TEXT[] NOT NULL DEFAULT '{}',
    parameters JSONB,
    request_body_schema JSONB,
    response_schemas JSONB,
    auth_required BOOLEAN NOT NULL DEFAULT false,
    rate_limit_enabled BOOLEAN NOT NULL DEFAULT false,
    timeout_ms INTEGER NOT NULL DEFAULT 30000,
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    is_deprecated BOOLEAN NOT NULL DEFAULT false,
    call_count BIGINT NOT NULL DEFAULT 0,
    success_count BIGINT NOT NULL DEFAULT 0,
    error_count BIGINT NOT NULL DEFAULT 0,
    -- Exact mean (DESIGN 1): avg = total_response_time_ms / timed_call_count.
    total_response_time_ms BIGINT NOT NULL DEFAULT 0,
    timed_call_count BIGINT NOT NULL DEFAULT 0,
    avg_response_time_ms INTEGER,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT uk_endpoint_path_method UNIQUE (api_document_id, path, method),
    CONSTRAINT chk_method CHECK (method IN ('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS')),
    CONSTRAINT chk_endpoint_status CHECK (status IN ('active', 'inactive', 'deprecated')),
    CONSTRAINT chk_endpoint_timeout CHECK (timeout_ms > 0)
);
CREATE INDEX idx_endpoint_api_document_id ON api_endpoints (api_document_id);
CREATE INDEX idx_endpoint_method ON api_endpoints (method);
CREATE INDEX idx_endpoint_status ON api_endpoints (status);
CREATE INDEX idx_endpoint_tags ON api_endpoints USING GIN (tags);
CREATE INDEX idx_endpoint_operation_id ON api_endpoints (operation_id);
CREATE INDEX idx_endpoints_doc_method_status ON api_endpoints (api_document_id, method, status);

CREATE TABLE resource_references (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    resource_type VARCHAR(50) NOT NULL,
    resource_id UUID NOT NULL,
    api_endpoint_id UUID NOT NULL,
    reference_config JSONB,
    display_name VARCHAR(255),
    description TEXT,
    status VARCHAR(20) NOT NULL DEFAULT 'active',
    last_used_at TIMESTAMPTZ,
    usage_count INTEGER NOT NULL DEFAULT 0,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_ref_resource_type CHECK (resource_type IN ('workflow_node', 'scheduled_task', 'form', 'dashboard')),
    CONSTRAINT chk_ref_status CHECK (status IN ('active', 'inactive', 'error'))
);
CREATE INDEX idx_ref_resource_type_id ON resource_references (resource_type, resource_id);
CREATE INDEX idx_ref_api_endpoint_id ON resource_references (api_endpoint_id);
CREATE INDEX idx_ref_status ON resource_references (status);
CREATE INDEX idx_ref_last_used ON resource_references (last_used_at);
CREATE INDEX idx_refs_type_status_endpoint ON resource_references (resource_type, status, api_endpoint_id);

CREATE TABLE api_call_logs (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    api_endpoint_id UUID NOT NULL,
    resource_reference_id UUID,
    request_method VARCHAR(10) NOT NULL,
    request_url TEXT NOT NULL,
    request_headers JSONB,
    request_body TEXT,
    request_params JSONB,
    response_status_code INTEGER,
    response_headers JSONB,
    response_body TEXT,
    response_time_ms INTEGER,
    request_size_bytes INTEGER,
    response_size_bytes INTEGER,
    error_message TEXT,
    error_type VARCHAR(50),
    client_ip INET,
    user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_log_api_endpoint_id ON api_call_logs (api_endpoint_id);
CREATE INDEX idx_log_resource_reference_id ON api_call_logs (resource_reference_id);
CREATE INDEX idx_log_status_code ON api_call_logs (response_status_code);
CREATE INDEX idx_log_created_at ON api_call_logs (created_at);
CREATE INDEX idx_log_error_type ON api_call_logs (error_type);
CREATE INDEX idx_logs_endpoint_time ON api_call_logs (api_endpoint_id, created_at DESC);
CREATE TABLE api_call_logs_default PARTITION OF api_call_logs DEFAULT;

-- Current month and the next three (DESIGN 12 names). The daily rollover
-- keeps this window moving; this block only seeds it at install time.
DO $$
DECLARE
    m DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    i INT;
BEGIN
    FOR i IN 0..3 LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF api_call_logs FOR VALUES FROM (%L) TO (%L)',
            'api_call_logs_' || to_char(m + make_interval(months => i), 'YYYY_MM'),
            (m + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
            (m + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END $$;

CREATE TABLE api_health_checks (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    api_document_id UUID NOT NULL,
    check_type VARCHAR(50) NOT NULL,
    status VARCHAR(20) NOT NULL,
    response_time_ms INTEGER,
    error_message TEXT,
    details JSONB,
    checked_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_health_check_type CHECK (check_type IN ('connectivity', 'endpoint', 'full')),
    CONSTRAINT chk_health_status CHECK (status IN ('success', 'failed', 'timeout'))
);
CREATE INDEX idx_health_api_document_id ON api_health_checks (api_document_id);
CREATE INDEX idx_health_status ON api_health_checks (status);
CREATE INDEX idx_health_checked_at ON api_health_checks (checked_at);
CREATE INDEX idx_health_doc_time ON api_health_checks (api_document_id, checked_at DESC);

CREATE TABLE api_endpoint_cache (
    endpoint_id UUID PRIMARY KEY,
    cache_data JSONB,
    cached_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    expires_at TIMESTAMPTZ
);

CREATE TABLE api_audit_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    table_name VARCHAR(50) NOT NULL,
    record_id UUID NOT NULL,
    operation VARCHAR(20) NOT NULL,
    old_data JSONB,
    new_data JSONB,
    changed_by UUID,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_audit_operation CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE'))
);
CREATE INDEX idx_audit_table_record ON api_audit_logs (table_name, record_id, changed_at DESC);

CREATE VIEW api_endpoint_resources AS
SELECT
    e.id AS endpoint_id,
    e.path,
    e.method,
    e.operation_id,
    e.summary,
    e.description,
    e.tags,
    d.id AS api_document_id,
    d.name AS api_name,
    d.version AS api_version,
    d.base_url,
    e.status AS endpoint_status,
    d.status AS api_status,
    e.call_count,
    e.success_count,
    e.error_count,
    e.avg_response_time_ms,
    COUNT(r.id) AS reference_count
FROM api_endpoints e
JOIN api_documents d ON e.api_document_id = d.id
LEFT JOIN resource_references r ON e.id = r.api_endpoint_id AND r.status = 'active'
GROUP BY e.id, d.id;

CREATE VIEW resource_reference_stats AS
SELECT
    r.resource_type,
    r.resource_id,
    COUNT(r.id) AS total_references,
    COUNT(CASE WHEN r.status = 'active' THEN 1 END) AS active_references,
    COUNT(CASE WHEN r.status = 'error' THEN 1 END) AS error_references,
    SUM(r.usage_count) AS total_usage,
    MAX(r.last_used_at) AS last_used
FROM resource_references r
GROUP BY r.resource_type, r.resource_id;
