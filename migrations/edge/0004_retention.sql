-- Retention: raw telemetry and audit rows older than the configured ages are
-- pruned periodically (edge run --keep-telemetry, --keep-audit). Telemetry is
-- already indexed by event_time; audit rows need an index by time to be
-- pruned without a full scan.
CREATE INDEX audit_logs_time ON audit_logs(performed_at);
