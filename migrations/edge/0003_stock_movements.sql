-- Stock movements recorded by a restock visit (POST /machines/{id}/restock).
-- movement_id is the client's idempotency key: one visit to one machine may
-- hold several lines (one per product and reason), all with the same
-- body_hash, so a replay of the same body answers the stored result and a
-- different body under the same key is refused.
CREATE TABLE stock_movements (
    movement_id  TEXT    NOT NULL,
    line         INTEGER NOT NULL CHECK (line >= 1),
    machine_id   TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    product_id   TEXT    NOT NULL REFERENCES products(product_id),
    reason       TEXT    NOT NULL CHECK (reason IN ('RESTOCK', 'EXPIRED', 'DAMAGED', 'COUNT', 'VISIT')),
    delta        INTEGER NOT NULL,
    after        INTEGER NOT NULL CHECK (after >= 0),
    performed_by TEXT    NOT NULL,
    performed_at INTEGER NOT NULL,
    body_hash    BLOB    NOT NULL,
    seq          INTEGER NOT NULL,   -- outbox sequence of this line's stock event
    PRIMARY KEY (movement_id, line)
) WITHOUT ROWID;

-- Last visit per machine (days since the last RESTOCK).
CREATE INDEX stock_movements_machine ON stock_movements (machine_id, reason, performed_at);
