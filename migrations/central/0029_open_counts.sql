-- Issue 14, wave 10: the open alerts and faults per city and site, the
-- counts every daily and monthly report shows. They were counted at read
-- time: every open alert and fault (5,800 at 10,000 machines), a seek into
-- machines for each one's city and three sorts, 18 ms of a 25 ms report.
-- This table holds them: city is the alert's or fault's machine's city now
-- ('' when central does not know the machine), as the count at read time
-- joined it. Triggers keep it, so every writer of alerts, faults and
-- machines does (apply, group commit, any later one): an alert or fault
-- that opens, closes, changes machine or goes counts at its machine's city;
-- a machine that appears, moves city or goes moves its open items' counts
-- between its old city and its new one ('' when unknown). Rows that fall to
-- zero stay; OpenCounts skips them. Each trigger is one statement.
CREATE TABLE open_counts (
    city   TEXT    NOT NULL,
    site   TEXT    NOT NULL,
    alerts INTEGER NOT NULL,
    faults INTEGER NOT NULL,
    PRIMARY KEY (city, site)
) WITHOUT ROWID;

CREATE TRIGGER open_counts_alert_insert AFTER INSERT ON alerts WHEN NEW.status = 'OPEN' BEGIN
    INSERT INTO open_counts (city, site, alerts, faults)
        SELECT coalesce((SELECT m.city FROM machines m WHERE m.site = NEW.site AND m.machine_id = NEW.machine_id), ''), NEW.site, 1, 0
        WHERE true
        ON CONFLICT (city, site) DO UPDATE SET alerts = alerts + 1;
END;

CREATE TRIGGER open_counts_alert_update AFTER UPDATE OF site, machine_id, status ON alerts
    WHEN (OLD.status = 'OPEN' OR NEW.status = 'OPEN')
        AND (OLD.status IS NOT NEW.status OR OLD.site IS NOT NEW.site OR OLD.machine_id IS NOT NEW.machine_id) BEGIN
    INSERT INTO open_counts (city, site, alerts, faults)
        SELECT city, site, SUM(n), 0 FROM (
            SELECT coalesce((SELECT m.city FROM machines m WHERE m.site = OLD.site AND m.machine_id = OLD.machine_id), '') AS city,
                OLD.site AS site, -1 AS n WHERE OLD.status = 'OPEN'
            UNION ALL
            SELECT coalesce((SELECT m.city FROM machines m WHERE m.site = NEW.site AND m.machine_id = NEW.machine_id), ''),
                NEW.site, 1 WHERE NEW.status = 'OPEN')
        WHERE true GROUP BY city, site HAVING SUM(n) <> 0
        ON CONFLICT (city, site) DO UPDATE SET alerts = alerts + excluded.alerts;
END;

CREATE TRIGGER open_counts_alert_delete AFTER DELETE ON alerts WHEN OLD.status = 'OPEN' BEGIN
    UPDATE open_counts SET alerts = alerts - 1
        WHERE site = OLD.site
            AND city = coalesce((SELECT m.city FROM machines m WHERE m.site = OLD.site AND m.machine_id = OLD.machine_id), '');
END;

CREATE TRIGGER open_counts_fault_insert AFTER INSERT ON faults WHEN NEW.status = 'OPEN' BEGIN
    INSERT INTO open_counts (city, site, alerts, faults)
        SELECT coalesce((SELECT m.city FROM machines m WHERE m.site = NEW.site AND m.machine_id = NEW.machine_id), ''), NEW.site, 0, 1
        WHERE true
        ON CONFLICT (city, site) DO UPDATE SET faults = faults + 1;
END;

CREATE TRIGGER open_counts_fault_update AFTER UPDATE OF site, machine_id, status ON faults
    WHEN (OLD.status = 'OPEN' OR NEW.status = 'OPEN')
        AND (OLD.status IS NOT NEW.status OR OLD.site IS NOT NEW.site OR OLD.machine_id IS NOT NEW.machine_id) BEGIN
    INSERT INTO open_counts (city, site, alerts, faults)
        SELECT city, site, 0, SUM(n) FROM (
            SELECT coalesce((SELECT m.city FROM machines m WHERE m.site = OLD.site AND m.machine_id = OLD.machine_id), '') AS city,
                OLD.site AS site, -1 AS n WHERE OLD.status = 'OPEN'
            UNION ALL
            SELECT coalesce((SELECT m.city FROM machines m WHERE m.site = NEW.site AND m.machine_id = NEW.machine_id), ''),
                NEW.site, 1 WHERE NEW.status = 'OPEN')
        WHERE true GROUP BY city, site HAVING SUM(n) <> 0
        ON CONFLICT (city, site) DO UPDATE SET faults = faults + excluded.faults;
END;

CREATE TRIGGER open_counts_fault_delete AFTER DELETE ON faults WHEN OLD.status = 'OPEN' BEGIN
    UPDATE open_counts SET faults = faults - 1
        WHERE site = OLD.site
            AND city = coalesce((SELECT m.city FROM machines m WHERE m.site = OLD.site AND m.machine_id = OLD.machine_id), '');
END;

-- A machine's open items count at its city: when it appears they leave
-- '', when it moves they go from its old city to its new one, when it goes
-- they return to ''.
CREATE TRIGGER open_counts_machine_insert AFTER INSERT ON machines BEGIN
    INSERT INTO open_counts (city, site, alerts, faults)
        SELECT city, NEW.site, SUM(a), SUM(f) FROM (
            SELECT c.city AS city, c.sign * (SELECT COUNT(*) FROM alerts x WHERE x.site = NEW.site AND x.machine_id = NEW.machine_id AND x.status = 'OPEN') AS a,
                c.sign * (SELECT COUNT(*) FROM faults x WHERE x.site = NEW.site AND x.machine_id = NEW.machine_id AND x.status = 'OPEN') AS f
            FROM (SELECT '' AS city, -1 AS sign UNION ALL SELECT NEW.city, 1) c)
        WHERE true GROUP BY city HAVING SUM(a) <> 0 OR SUM(f) <> 0
        ON CONFLICT (city, site) DO UPDATE SET alerts = alerts + excluded.alerts, faults = faults + excluded.faults;
END;

CREATE TRIGGER open_counts_machine_update AFTER UPDATE OF site, machine_id, city ON machines
    WHEN OLD.city IS NOT NEW.city OR OLD.site IS NOT NEW.site OR OLD.machine_id IS NOT NEW.machine_id BEGIN
    INSERT INTO open_counts (city, site, alerts, faults)
        SELECT city, site, SUM(a), SUM(f) FROM (
            SELECT c.city AS city, c.site AS site,
                c.sign * (SELECT COUNT(*) FROM alerts x WHERE x.site = c.site AND x.machine_id = c.machine_id AND x.status = 'OPEN') AS a,
                c.sign * (SELECT COUNT(*) FROM faults x WHERE x.site = c.site AND x.machine_id = c.machine_id AND x.status = 'OPEN') AS f
            FROM (SELECT OLD.city AS city, OLD.site AS site, OLD.machine_id AS machine_id, -1 AS sign
                UNION ALL SELECT '', OLD.site, OLD.machine_id, 1
                UNION ALL SELECT '', NEW.site, NEW.machine_id, -1
                UNION ALL SELECT NEW.city, NEW.site, NEW.machine_id, 1) c)
        WHERE true GROUP BY city, site HAVING SUM(a) <> 0 OR SUM(f) <> 0
        ON CONFLICT (city, site) DO UPDATE SET alerts = alerts + excluded.alerts, faults = faults + excluded.faults;
END;

CREATE TRIGGER open_counts_machine_delete AFTER DELETE ON machines BEGIN
    INSERT INTO open_counts (city, site, alerts, faults)
        SELECT city, OLD.site, SUM(a), SUM(f) FROM (
            SELECT c.city AS city, c.sign * (SELECT COUNT(*) FROM alerts x WHERE x.site = OLD.site AND x.machine_id = OLD.machine_id AND x.status = 'OPEN') AS a,
                c.sign * (SELECT COUNT(*) FROM faults x WHERE x.site = OLD.site AND x.machine_id = OLD.machine_id AND x.status = 'OPEN') AS f
            FROM (SELECT OLD.city AS city, -1 AS sign UNION ALL SELECT '', 1) c)
        WHERE true GROUP BY city HAVING SUM(a) <> 0 OR SUM(f) <> 0
        ON CONFLICT (city, site) DO UPDATE SET alerts = alerts + excluded.alerts, faults = faults + excluded.faults;
END;

-- The counts of the data already here (the query OpenCounts ran before).
-- INSERT OR REPLACE: the bench model's generator (central/readmodel
-- benchdb_test.go) replays only plain INSERT INTO fills, and its facts
-- come after this migration, counted by the triggers.
INSERT OR REPLACE INTO open_counts (city, site, alerts, faults)
    SELECT city, site, SUM(alerts), SUM(faults) FROM (
        SELECT coalesce(m.city, '') AS city, a.site AS site, COUNT(*) AS alerts, 0 AS faults
        FROM alerts a INDEXED BY alerts_open LEFT JOIN machines m ON m.site = a.site AND m.machine_id = a.machine_id
        WHERE a.status = 'OPEN' GROUP BY 1, 2
        UNION ALL
        SELECT coalesce(m.city, ''), f.site, 0, COUNT(*)
        FROM faults f INDEXED BY faults_open LEFT JOIN machines m ON m.site = f.site AND m.machine_id = f.machine_id
        WHERE f.status = 'OPEN' GROUP BY 1, 2)
    GROUP BY city, site;
