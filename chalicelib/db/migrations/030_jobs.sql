-- Long jobs: one row per submitted job. Status moves
-- queued -> running -> succeeded | failed | cancelled (running -> queued on a
-- retryable failure or a stuck-job re-queue). updated_at/heartbeat_at are set
-- by code. No foreign keys.
CREATE TABLE jobs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    type VARCHAR(100) NOT NULL,
    status VARCHAR(20) NOT NULL DEFAULT 'queued',
    priority VARCHAR(20) NOT NULL DEFAULT 'default',
    payload JSONB NOT NULL DEFAULT '{}'::jsonb,
    result JSONB,
    progress INTEGER NOT NULL DEFAULT 0,
    progress_message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    last_error TEXT,
    idempotency_key VARCHAR(255),
    heartbeat_at TIMESTAMPTZ,
    created_by UUID,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    CONSTRAINT uk_jobs_idempotency_key UNIQUE (idempotency_key),
    CONSTRAINT chk_job_status CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT chk_job_priority CHECK (priority IN ('critical', 'default', 'low')),
    CONSTRAINT chk_job_progress CHECK (progress BETWEEN 0 AND 100),
    CONSTRAINT chk_job_attempts CHECK (attempts >= 0 AND max_attempts >= 1)
);
CREATE INDEX idx_jobs_status_created ON jobs (status, created_at DESC);
CREATE INDEX idx_jobs_type_created ON jobs (type, created_at DESC);
CREATE INDEX idx_jobs_created_at ON jobs (created_at DESC);
-- The stuck-job sweep: running jobs by heartbeat, queued jobs by age.
CREATE INDEX idx_jobs_running_heartbeat ON jobs (heartbeat_at) WHERE status = 'running';
CREATE INDEX idx_jobs_queued_updated ON jobs (updated_at) WHERE status = 'queued';
