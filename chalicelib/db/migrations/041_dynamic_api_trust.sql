-- Dynamic-API trust boundaries (DESIGN 15).
--
-- Pools: who may define/test/publish APIs on them (`access`), what the last
-- check of the target found (`server_identity`, `privilege_warnings`,
-- `checked_at`). A connection_string never keeps a password: existing ones
-- are redacted here (connections are made from host/port/username and the
-- encrypted password, never from this text).
ALTER TABLE connection_pools
    ADD COLUMN access JSONB NOT NULL
        DEFAULT '{"write_roles": ["admin"], "read_roles": ["admin", "operator"]}',
    ADD COLUMN server_identity TEXT,
    ADD COLUMN privilege_warnings JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN checked_at TIMESTAMPTZ;

UPDATE connection_pools
   SET connection_string = regexp_replace(
           regexp_replace(connection_string, '(://[^:/@]*:)[^/?#]*@', '\1********@'),
           '((?:^|[;\s])\s*(?:password|pwd)\s*=\s*)[^;\s]*', '\1********', 'gi')
 WHERE connection_string IS NOT NULL;

-- Definitions: a row cap per API (NULL = the global DYNAMIC_API_MAX_ROWS), and
-- timeouts no longer than API Gateway's 29 s integration limit.
ALTER TABLE api_definitions ADD COLUMN max_rows INTEGER;
ALTER TABLE api_definitions ADD CONSTRAINT chk_api_def_max_rows CHECK (max_rows IS NULL OR max_rows >= 1);
UPDATE api_definitions SET timeout_ms = 29000 WHERE timeout_ms > 29000;
ALTER TABLE api_definitions DROP CONSTRAINT chk_api_def_timeout;
ALTER TABLE api_definitions ADD CONSTRAINT chk_api_def_timeout CHECK (timeout_ms BETWEEN 1 AND 29000);
