-- Per-key quotas of the management API (seed 003 section 6.1) and its access
-- log (section 7), from which GET /api/metrics/routes is computed.

-- NULL: the role's default (viewer/operator 100 a minute, 10 at once; admin
-- unlimited); 0: unlimited; N: the limit.
ALTER TABLE api_keys ADD COLUMN rate_per_minute INTEGER;
ALTER TABLE api_keys ADD COLUMN max_concurrent INTEGER;
ALTER TABLE api_keys ADD CONSTRAINT chk_api_keys_rate CHECK (rate_per_minute IS NULL OR rate_per_minute >= 0);
ALTER TABLE api_keys ADD CONSTRAINT chk_api_keys_concurrent CHECK (max_concurrent IS NULL OR max_concurrent >= 0);

-- Requests in flight per bucket (a key), shared by every container. A row
-- whose container died expires at expires_at; it is never waited for.
CREATE UNLOGGED TABLE concurrency_slots (
    bucket VARCHAR(200) NOT NULL,
    token VARCHAR(64) NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bucket, token)
);
CREATE INDEX idx_concurrency_slots_expires ON concurrency_slots (bucket, expires_at);

-- One row per management request, partitioned by month like api_call_logs
-- (api_access_logs_YYYY_MM + DEFAULT; the daily rollover keeps the window).
CREATE TABLE api_access_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    request_id VARCHAR(64) NOT NULL,
    method VARCHAR(10) NOT NULL,
    route VARCHAR(300) NOT NULL,
    status_code INTEGER NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    api_key_id UUID,
    role VARCHAR(20),
    api_version VARCHAR(10) NOT NULL DEFAULT 'v1',
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE api_access_logs_default PARTITION OF api_access_logs DEFAULT;
CREATE INDEX idx_api_access_logs_created ON api_access_logs (created_at);
CREATE INDEX idx_api_access_logs_route ON api_access_logs (route, method, created_at);
CREATE INDEX idx_api_access_logs_key ON api_access_logs (api_key_id, created_at);

DO $$
DECLARE
    m DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    i INT;
BEGIN
    FOR i IN 0..3 LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF api_access_logs FOR VALUES FROM (%L) TO (%L)',
            'api_access_logs_' || to_char(m + make_interval(months => i), 'YYYY_MM'),
            (m + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
            (m + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END $$;
