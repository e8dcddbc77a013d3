"""Data comparison between two environments (seed 003, DataTools Pro).

- core/           engine-independent: value comparison (exact / format_only /
                  different, compare modes, differing paths), the binary-safe
                  form, ReportBuilder (seed 003 answer, exact per-class counts),
                  rule-based recommendations, throttled progress
- runs.py         ComparisonRun: a run's query logs (batch id) + history record
- history.py, query_logs.py, config_groups.py, sealing.py: the tables of
                  migration 050 and secrets at rest
- redis/          Redis comparison engine (standalone/cluster) and its service
- routes.py       /api/redis/compare, /api/config-groups, /api/default-config,
                  /api/query-history, /api/query-logs
- jobs.py         the job types of async comparisons (compare.redis, compare.cassandra)
- cassandra/      Cassandra comparison (its own owner and blueprint)
"""
