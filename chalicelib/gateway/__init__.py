"""The gateway: invoke endpoints with validation, upstream auth, timeouts,
retries, rate limits, call logs, statistics and resource references."""
