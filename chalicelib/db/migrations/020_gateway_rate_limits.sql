-- Gateway rate-limit counters for deployments without Redis.
-- One row per (bucket, fixed window); the upsert's row lock makes the count
-- exact across Lambda containers. Expired rows are deleted by the limiter.
CREATE TABLE gateway_rate_limit_counters (
    bucket VARCHAR(200) NOT NULL,
    window_no BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bucket, window_no)
);
CREATE INDEX idx_gateway_rl_expires ON gateway_rate_limit_counters (expires_at);
