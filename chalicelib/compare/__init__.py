"""Data comparison between two environments (seed 003, DataTools Pro).

`core` holds the engine-independent parts (value comparison, report and
summary building, recommendations, progress); `redis` compares two Redis
deployments; `cassandra` (its own owner) compares Cassandra tables. Both
engines build their answers with `core.report.ReportBuilder`.
"""
