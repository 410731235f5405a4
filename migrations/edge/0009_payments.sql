-- The payments ledger (edge/payment): one payment per sale, every change of
-- its status kept in payment_history. No card number is ever stored: a card
-- payment keeps the terminal's reference and at most the last 4 digits; a
-- gateway payment keeps the gateway's id. Money in cents, times in unix
-- milliseconds (UTC), day the site-local date of the sale.
CREATE TABLE payments (
    payment_id      INTEGER PRIMARY KEY,
    machine_id      TEXT    NOT NULL REFERENCES vending_machines(machine_id),
    transaction_id  TEXT    NOT NULL,
    product_id      TEXT    NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity > 0),
    method          TEXT    NOT NULL CHECK (method IN ('CASH', 'CARD', 'MOBILE', 'GATEWAY')),
    method_name     TEXT    NOT NULL,   -- as the sale named it (UPI, WALLET, …)
    amount_cents    INTEGER NOT NULL CHECK (amount_cents >= 0),
    refunded_cents  INTEGER NOT NULL DEFAULT 0 CHECK (refunded_cents >= 0),
    status          TEXT    NOT NULL CHECK (status IN ('PENDING', 'AUTHORIZED', 'CAPTURED', 'FAILED', 'REFUNDED', 'VOIDED')),
    card_reference  TEXT,
    card_last4      TEXT    CHECK (card_last4 IS NULL OR length(card_last4) <= 4),
    gateway_id      TEXT,
    failure         TEXT,
    day             TEXT    NOT NULL,
    sold_at         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (machine_id, transaction_id)
);
CREATE INDEX payments_day ON payments (day, method, status);
CREATE UNIQUE INDEX payments_gateway ON payments (gateway_id) WHERE gateway_id IS NOT NULL;

-- Every status change of a payment, in order (seed 001: "every change in
-- order status should be recorded in the database, especially payments").
CREATE TABLE payment_history (
    payment_id   INTEGER NOT NULL REFERENCES payments(payment_id),
    n            INTEGER NOT NULL CHECK (n >= 1),
    from_status  TEXT,
    to_status    TEXT    NOT NULL,
    amount_cents INTEGER NOT NULL,
    reason       TEXT    NOT NULL DEFAULT '',
    reference    TEXT    NOT NULL DEFAULT '',   -- gateway id, refund id, event id
    performed_by TEXT    NOT NULL,
    performed_at INTEGER NOT NULL,
    seq          INTEGER,                       -- outbox sequence of the change's event; NULL when the sale's own event carried it
    PRIMARY KEY (payment_id, n)
) WITHOUT ROWID;

-- Webhook-style confirmations from the gateway, by event id: the same
-- event delivered twice is applied once.
CREATE TABLE payment_confirmations (
    event_id    TEXT    PRIMARY KEY,
    payment_id  INTEGER,
    event_type  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    applied     INTEGER NOT NULL,   -- 1 when it changed the payment
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
