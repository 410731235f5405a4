-- Lots per machine, kept from the sites' lot events (edge/lot): what each
-- machine holds by expiry date and unit cost, for valuation (FIFO by lot
-- cost) and the driver's pick list. A lot's row is the state of the highest
-- sequence seen (lot events and the lot uses on sales), so a redelivered or
-- late event changes nothing.
CREATE TABLE machine_lots (
    site            TEXT    NOT NULL,
    lot_id          INTEGER NOT NULL,
    machine_id      TEXT    NOT NULL,
    product_id      TEXT    NOT NULL,
    lot_code        TEXT    NOT NULL DEFAULT '',
    expiry_date     TEXT    NOT NULL DEFAULT '',
    unit_cost_cents INTEGER,
    quantity        INTEGER NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'SELLABLE',
    info_seq        INTEGER NOT NULL DEFAULT 0,   -- sequence of the last lot event (code, date, cost, status)
    qty_seq         INTEGER NOT NULL DEFAULT 0,   -- sequence of the last quantity
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (site, lot_id)
) WITHOUT ROWID;
CREATE INDEX machine_lots_machine ON machine_lots (site, machine_id, product_id);
CREATE INDEX machine_lots_expiry ON machine_lots (expiry_date) WHERE quantity > 0;

-- The units each sale took from each lot, with the lot's unit cost: a
-- sale's cost of goods is the sum of quantity × unit_cost_cents of its rows
-- (unknown when a row's cost is NULL). Kept by (site, seq, lot_id), so a
-- redelivered sale adds nothing.
CREATE TABLE sale_lot_uses (
    site            TEXT    NOT NULL,
    seq             INTEGER NOT NULL,   -- the sale event's sequence
    lot_id          INTEGER NOT NULL,
    machine_id      TEXT    NOT NULL,
    product_id      TEXT    NOT NULL,
    transaction_id  TEXT    NOT NULL,
    quantity        INTEGER NOT NULL,
    unit_cost_cents INTEGER,
    sold_at         INTEGER NOT NULL,
    PRIMARY KEY (site, seq, lot_id)
) WITHOUT ROWID;
CREATE INDEX sale_lot_uses_time ON sale_lot_uses (sold_at);
