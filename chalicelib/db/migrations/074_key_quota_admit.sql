-- A limited key's admission in one statement (chalicelib.limits, PostgreSQL
-- store): count the call in its fixed window (the same upsert as the
-- limiter's `hit`) and, unless that refuses it (hits > rate: then no slot is
-- taken), take one of the key's concurrency slots under the same
-- transaction-scoped advisory lock on the slot bucket as `take_slot`, so the
-- counts stay exact across containers. Every lock is taken in the same order
-- (window row, then the slot bucket's advisory lock): no deadlock. Counters
-- are ephemeral: the transaction commits without waiting for the WAL flush.
CREATE OR REPLACE FUNCTION stepflow_quota_admit(
    p_window_bucket VARCHAR, p_per_s DOUBLE PRECISION, p_rate INTEGER,
    p_slot_bucket VARCHAR, p_limit INTEGER, p_token VARCHAR, p_ttl_s DOUBLE PRECISION,
    OUT n_hits INTEGER, OUT seconds_left DOUBLE PRECISION, OUT slot_taken BOOLEAN)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    now_s DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO gateway_rate_limit_counters AS c (bucket, window_no, hits, expires_at)
    VALUES (p_window_bucket, floor(now_s / p_per_s)::bigint, 1, to_timestamp((floor(now_s / p_per_s) + 1) * p_per_s))
    ON CONFLICT (bucket, window_no) DO UPDATE SET hits = c.hits + 1
    RETURNING c.hits, extract(epoch FROM c.expires_at) - extract(epoch FROM clock_timestamp())
    INTO n_hits, seconds_left;
    slot_taken := false;
    IF n_hits > p_rate THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(p_slot_bucket, 22));
    INSERT INTO concurrency_slots (bucket, token, expires_at)
    SELECT p_slot_bucket, p_token, clock_timestamp() + make_interval(secs => p_ttl_s)
    WHERE (SELECT count(*) FROM concurrency_slots
           WHERE bucket = p_slot_bucket AND expires_at > clock_timestamp()) < p_limit;
    slot_taken := FOUND;
END $$;
