"""The daily partition_rollover schedule keeps both monthly log tables."""
from __future__ import annotations


def test_rollover_schedule_reports_every_partitioned_log_table(client):
    result = client.lambda_.invoke("partition_rollover", client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    report = result.payload
    assert set(report) == {"api_call_logs", "dynamic_api_invocation_logs", "api_access_logs"}
    for table_report in report.values():
        assert isinstance(table_report, dict)
