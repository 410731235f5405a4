-- Central's own writes (depots, vans, transfers, purchase orders, …) are
-- entries of the replicated HQ_LOG stream, applied by every node in stream
-- order (central/hqlog). hq_log_position is the last entry this read model
-- applied, committed with the entry's effects; hq_log_outcomes keeps each
-- entry's outcome (its result, or the refusal) for the node that took the
-- request to answer with.
CREATE TABLE hq_log_position (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO hq_log_position (id, seq) VALUES (1, 0);

CREATE TABLE hq_log_outcomes (
    seq        INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    result     BLOB,             -- the handler's result (JSON), when it succeeded
    error      BLOB,             -- the refusal (errs.Error as JSON with its kind), when it failed
    applied_at INTEGER NOT NULL
);
