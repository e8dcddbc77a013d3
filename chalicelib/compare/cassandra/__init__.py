"""Cassandra comparison (seed 003 sections 2.1.1, 2.1.2, 3.3).

- config: request models (CassandraConfig, QueryRequest, ShardingQueryRequest, ShardingConfig)
- values: key strings -> CQL-typed values; driver values -> normalised comparable form
- sharding: timestamp extraction and `<table>_<n>` routing
- sessions: cached driver sessions per configuration (closed when idle), error translation
- schema: a table's primary key (system_schema) and Cassandra's restriction rules (query_shape)
- keys: request keys typed once, deduplicated by typed value, spellings kept
- fetch: prepare_side (schema + rules, no data) / attach_keys / fetch_rows (rows by primary key)
- rows: compare_key (rows matched by full primary key, field by field) / emit
- engine: ComparePlan + compare_cassandra (both sides at once, recheck, answer)
- (query logs, history and config groups come from the comparison core: compare.runs, compare.config_groups)
- service: run_request (sync) / submit_request (async job) / run_job
- routes: POST /api/query, POST /api/sharding-query

Nothing here imports cassandra-driver at module level.
"""
