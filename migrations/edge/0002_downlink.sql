-- The last downlink (central → site configuration) revision applied.
CREATE TABLE downlink_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    applied_rev INTEGER NOT NULL DEFAULT 0
);
INSERT INTO downlink_state (id) VALUES (1);
