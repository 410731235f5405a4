-- Per-site liveness as this node last saw it: sites heartbeat over the leaf
-- link; connected flips on the first heartbeat after a silence and off when
-- heartbeats stop. since is when the current state began (unix ms). Only
-- changes of state are written, so a restarted node still says since when a
-- site has been offline.
CREATE TABLE site_liveness (
    site      TEXT    PRIMARY KEY,
    connected INTEGER NOT NULL,
    since     INTEGER NOT NULL
) WITHOUT ROWID;
