"""Periodic work run by EventBridge schedules: document health checks and the
api_call_logs partition rollover (the stuck-job sweep lives in chalicelib.jobs)."""
