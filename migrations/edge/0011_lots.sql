-- Lots: the units of a slot by expiry date and unit cost (edge/lot). A
-- slot's quantity is the sum of its lots' quantities; the slot's
-- expiry_date stays as the earliest expiry of the units it holds, derived
-- for old readers. A restock without lot information adds to an "unknown
-- lot" (no code, no cost) with the slot's expiry semantics.
CREATE TABLE lots (
    lot_id          INTEGER PRIMARY KEY,
    machine_id      TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    product_id      TEXT    NOT NULL REFERENCES products(product_id),
    lot_code        TEXT    NOT NULL DEFAULT '',
    expiry_date     TEXT    NOT NULL DEFAULT '',     -- YYYY-MM-DD, '' for none
    unit_cost_cents INTEGER CHECK (unit_cost_cents IS NULL OR unit_cost_cents >= 0),
    quantity        INTEGER NOT NULL CHECK (quantity >= 0),
    status          TEXT    NOT NULL DEFAULT 'SELLABLE' CHECK (status IN ('SELLABLE', 'HOLD')),
    hold_reason     TEXT    NOT NULL DEFAULT '',
    received_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX lots_slot ON lots (machine_id, product_id, expiry_date);
CREATE INDEX lots_expiry ON lots (expiry_date) WHERE quantity > 0;

-- Every change of a lot's quantity or status: the movement's lot and unit
-- cost (a sale's cost of goods is the sum of its rows' quantity × cost).
CREATE TABLE lot_movements (
    id              INTEGER PRIMARY KEY,
    lot_id          INTEGER NOT NULL REFERENCES lots(lot_id),
    machine_id      TEXT    NOT NULL,
    product_id      TEXT    NOT NULL,
    reason          TEXT    NOT NULL,   -- SALE, RESTOCK, EXPIRED, DAMAGED, COUNT, HOLD, RELEASE, SPOILED, RELABEL
    delta           INTEGER NOT NULL,
    after           INTEGER NOT NULL CHECK (after >= 0),
    unit_cost_cents INTEGER,
    ref             TEXT    NOT NULL DEFAULT '',   -- the sale's transaction id or the visit's movement id
    performed_by    TEXT    NOT NULL,
    performed_at    INTEGER NOT NULL
);
CREATE INDEX lot_movements_lot ON lot_movements (lot_id);
CREATE INDEX lot_movements_ref ON lot_movements (ref);

-- Perishable products are put on hold by a temperature lockout.
ALTER TABLE products ADD COLUMN perishable INTEGER NOT NULL DEFAULT 0;

-- Temperature lockouts: one per excursion (a machine's temperature above its
-- limit since excursion_since) that lasted longer than the food-safety window.
CREATE TABLE temperature_lockouts (
    machine_id      TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    excursion_since INTEGER NOT NULL,
    locked_at       INTEGER NOT NULL,
    released_at     INTEGER,
    released_by     TEXT,
    PRIMARY KEY (machine_id, excursion_since)
) WITHOUT ROWID;

-- Stock that existed before lots: one unknown lot per slot holding units.
INSERT INTO lots (machine_id, product_id, expiry_date, quantity, received_at, updated_at)
SELECT machine_id, product_id, COALESCE(expiry_date, ''), quantity, updated_at, updated_at
FROM machine_inventory WHERE quantity > 0;
