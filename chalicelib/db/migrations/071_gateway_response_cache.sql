-- The gateway's response cache writes seed 000's api_endpoint_cache at last:
-- one row per cached answer - (endpoint, keyed hash of the full built request
-- and the caller's identity) - instead of one per endpoint. `version` is the
-- endpoint's and its document's updated_at when the answer was stored: a row
-- of another version is never served (any config change or re-import moves
-- it) and is deleted on the endpoint's next store. cache_data is sealed
-- (encrypted like auth_config: headers such as Set-Cookie and bodies may hold
-- upstream secrets). The table was never written, so nothing is lost.
DELETE FROM api_endpoint_cache;
ALTER TABLE api_endpoint_cache DROP CONSTRAINT api_endpoint_cache_pkey;
ALTER TABLE api_endpoint_cache
    ADD COLUMN cache_key VARCHAR(64) NOT NULL,
    ADD COLUMN version TEXT NOT NULL,
    ADD COLUMN body_bytes INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN hit_count INTEGER NOT NULL DEFAULT 0,
    ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE api_endpoint_cache ADD PRIMARY KEY (endpoint_id, cache_key);
CREATE INDEX idx_endpoint_cache_expires ON api_endpoint_cache (expires_at);
CREATE INDEX idx_endpoint_cache_age ON api_endpoint_cache (endpoint_id, cached_at);

-- An endpoint's cache settings (NULL: not cached), checked by
-- chalicelib.gateway.configs.CacheConfig.
ALTER TABLE api_endpoints ADD COLUMN cache_config JSONB;

-- 'hit' / 'miss' for calls of a cached endpoint, NULL otherwise.
ALTER TABLE api_call_logs ADD COLUMN cache_status VARCHAR(10)
    CONSTRAINT chk_log_cache_status CHECK (cache_status IN ('hit', 'miss'));
