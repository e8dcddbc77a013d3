-- Scheduled health checks: per-document check configuration and the
-- consecutive-result counters behind the hysteresis (unhealthy after N
-- consecutive failures, healthy after M consecutive successes).
-- health_check_config: {"path": "/health", "method": "GET"|"HEAD",
-- "expected_status": 200 | [200, 204], "timeout_s": 5}; NULL = connectivity
-- check of base_url (HEAD, falling back to GET).
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS health_check_config JSONB;
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS health_consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_documents ADD COLUMN IF NOT EXISTS health_consecutive_successes INTEGER NOT NULL DEFAULT 0;
