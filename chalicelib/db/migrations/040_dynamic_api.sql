-- Dynamic SQL APIs (seed 002; DESIGN 4, 5, 7, 10). No foreign keys: the
-- definition/parameter/pool relations are ID columns maintained by code.

CREATE TABLE connection_pools (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    display_text VARCHAR(64) NOT NULL,
    connection_string VARCHAR(256),
    db_type VARCHAR(64) NOT NULL,
    host VARCHAR(100) NOT NULL,
    port INTEGER NOT NULL,
    username VARCHAR(32),
    password_enc JSONB,                       -- secrets.get_box().seal(password); never returned
    database VARCHAR(128) NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    pool_size INTEGER NOT NULL DEFAULT 5,
    max_concurrency INTEGER NOT NULL DEFAULT 10,
    remark TEXT,
    version INTEGER NOT NULL DEFAULT 1,       -- bumped by every edit: live connections are dropped
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_pool_db_type CHECK (db_type IN ('postgresql', 'mysql')),
    CONSTRAINT chk_pool_port CHECK (port BETWEEN 1 AND 65535),
    CONSTRAINT chk_pool_size CHECK (pool_size BETWEEN 1 AND 100),
    CONSTRAINT chk_pool_concurrency CHECK (max_concurrency BETWEEN 1 AND 1000)
);
CREATE INDEX idx_connection_pools_created_at ON connection_pools (created_at);

CREATE TABLE api_definitions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name VARCHAR(64) NOT NULL,
    category VARCHAR(32) NOT NULL DEFAULT 'default',
    connection_pool_id UUID NOT NULL,
    http_method VARCHAR(10) NOT NULL,
    script_template TEXT NOT NULL,
    script_type VARCHAR(16) NOT NULL DEFAULT 'sql',
    template_engine VARCHAR(32) NOT NULL DEFAULT 'liquid',
    is_multiple_result BOOLEAN NOT NULL DEFAULT TRUE,
    is_paging BOOLEAN NOT NULL DEFAULT FALSE,
    is_sorting BOOLEAN NOT NULL DEFAULT FALSE,
    permissions TEXT[] NOT NULL DEFAULT '{}',
    rank INTEGER NOT NULL DEFAULT 0,
    remark TEXT,
    status VARCHAR(16) NOT NULL DEFAULT 'draft',
    sortable_columns TEXT[] NOT NULL DEFAULT '{}',
    default_sorting VARCHAR(256),
    max_page_size INTEGER NOT NULL DEFAULT 100,
    timeout_ms INTEGER NOT NULL DEFAULT 10000,
    version INTEGER NOT NULL DEFAULT 1,       -- bumped by every edit (definition or parameters)
    published_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT uk_api_definitions_name UNIQUE (name),
    CONSTRAINT chk_api_def_name CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$'),
    CONSTRAINT chk_api_def_method CHECK (http_method IN ('GET', 'POST', 'PUT', 'DELETE', 'PATCH')),
    CONSTRAINT chk_api_def_script_type CHECK (script_type IN ('sql', 'procedure')),
    CONSTRAINT chk_api_def_status CHECK (status IN ('draft', 'published', 'offline')),
    CONSTRAINT chk_api_def_paging CHECK (NOT is_paging OR is_multiple_result),
    CONSTRAINT chk_api_def_page_size CHECK (max_page_size BETWEEN 1 AND 10000),
    CONSTRAINT chk_api_def_timeout CHECK (timeout_ms BETWEEN 1 AND 300000)
);
CREATE INDEX idx_api_definitions_pool ON api_definitions (connection_pool_id);
CREATE INDEX idx_api_definitions_status ON api_definitions (status);
CREATE INDEX idx_api_definitions_category ON api_definitions (category, rank);

CREATE TABLE api_parameters (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    definition_id UUID NOT NULL,
    name VARCHAR(64) NOT NULL,
    display_text VARCHAR(128),
    data_type VARCHAR(32) NOT NULL DEFAULT 'string',
    param_type VARCHAR(16) NOT NULL DEFAULT 'query',
    multiple BOOLEAN NOT NULL DEFAULT FALSE,
    required BOOLEAN NOT NULL DEFAULT FALSE,
    default_value JSONB,
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    rank INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT uk_api_parameters_name UNIQUE (definition_id, name),
    CONSTRAINT chk_api_param_data_type CHECK (data_type IN ('integer', 'number', 'string', 'boolean', 'date', 'datetime', 'uuid')),
    CONSTRAINT chk_api_param_type CHECK (param_type IN ('query', 'body', 'header', 'form', 'path'))
);
CREATE INDEX idx_api_parameters_definition ON api_parameters (definition_id, rank);

-- One row per invocation; parameters of `sensitive` parameters are masked.
CREATE TABLE dynamic_api_invocation_logs (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    definition_id UUID,
    api_name VARCHAR(64) NOT NULL,
    caller_key_id UUID,
    http_method VARCHAR(10),
    params JSONB,
    status_code INTEGER NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    row_count INTEGER,
    error_code VARCHAR(50),
    error_message TEXT,
    is_test BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX idx_dyn_logs_definition_time ON dynamic_api_invocation_logs (definition_id, created_at DESC);
CREATE INDEX idx_dyn_logs_created_at ON dynamic_api_invocation_logs (created_at);
CREATE TABLE dynamic_api_invocation_logs_default PARTITION OF dynamic_api_invocation_logs DEFAULT;

DO $$
DECLARE
    m DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    i INT;
BEGIN
    FOR i IN 0..3 LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF dynamic_api_invocation_logs FOR VALUES FROM (%L) TO (%L)',
            'dynamic_api_invocation_logs_' || to_char(m + make_interval(months => i), 'YYYY_MM'),
            (m + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
            (m + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END $$;

-- Per-API counters; the average is exact: total_duration_ms / total_calls.
CREATE TABLE dynamic_api_stats (
    definition_id UUID PRIMARY KEY,
    api_name VARCHAR(64) NOT NULL,
    total_calls BIGINT NOT NULL DEFAULT 0,
    success_calls BIGINT NOT NULL DEFAULT 0,
    error_calls BIGINT NOT NULL DEFAULT 0,
    total_duration_ms DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_called_at TIMESTAMPTZ,
    last_status_code INTEGER,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- One short call per invocation writes the log row and bumps the counters.
-- Called explicitly by code (not a trigger). Invocation logs are committed
-- asynchronously (synchronous_commit off for this transaction only): a
-- server crash may lose the last fraction of a second of log rows, never
-- corrupt them, and an invocation does not wait for a WAL flush.
CREATE FUNCTION dynamic_api_record_invocation(
    p_definition_id UUID, p_api_name TEXT, p_caller_key_id UUID, p_http_method TEXT, p_params JSONB,
    p_status_code INTEGER, p_duration_ms DOUBLE PRECISION, p_row_count INTEGER, p_error_code TEXT,
    p_error_message TEXT, p_is_test BOOLEAN) RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO dynamic_api_invocation_logs (definition_id, api_name, caller_key_id, http_method, params,
        status_code, duration_ms, row_count, error_code, error_message, is_test)
    VALUES (p_definition_id, p_api_name, p_caller_key_id, p_http_method, p_params, p_status_code,
        p_duration_ms, p_row_count, p_error_code, p_error_message, p_is_test);
    IF p_definition_id IS NOT NULL AND NOT p_is_test THEN
        INSERT INTO dynamic_api_stats AS st (definition_id, api_name, total_calls, success_calls, error_calls,
            total_duration_ms, last_called_at, last_status_code, updated_at)
        VALUES (p_definition_id, p_api_name, 1, CASE WHEN p_status_code < 400 THEN 1 ELSE 0 END,
            CASE WHEN p_status_code < 400 THEN 0 ELSE 1 END, p_duration_ms, NOW(), p_status_code, NOW())
        ON CONFLICT (definition_id) DO UPDATE SET
            total_calls = st.total_calls + 1,
            success_calls = st.success_calls + EXCLUDED.success_calls,
            error_calls = st.error_calls + EXCLUDED.error_calls,
            total_duration_ms = st.total_duration_ms + EXCLUDED.total_duration_ms,
            last_called_at = EXCLUDED.last_called_at,
            last_status_code = EXCLUDED.last_status_code,
            api_name = EXCLUDED.api_name,
            updated_at = NOW();
    END IF;
END $$;
