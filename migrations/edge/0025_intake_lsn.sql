-- The intake log (edge run --fsync=log): the log sequence number of the
-- last transaction that ran logged requests, written in that transaction.
-- On open, the log's records above it are the requests the database lost
-- in a crash, and run again.
ALTER TABLE sync_state ADD COLUMN intake_lsn INTEGER NOT NULL DEFAULT 0;
