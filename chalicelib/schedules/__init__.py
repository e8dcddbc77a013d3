"""Periodic work run by EventBridge schedules, every schedule declared in
`chalicelib.schedules.lambdas`: document health checks (`health`, also run
on request and as the `health_checks.run` job, registered by `jobs`), the
monthly log partitions' rollover (`partitions`), and the stuck-job sweep
(which chalicelib.jobs.sweep owns)."""
