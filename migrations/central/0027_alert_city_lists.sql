-- Issue 14, wave 9: the alert and fault lists of one city. A city is its
-- machines' (a join at read time), so such a list reads the city's
-- machines and, for each, its alerts or faults, then sorts them newest
-- first. Through alerts_machine (machine_id) and faults_machine that was a
-- seek into the table for every row of every type (11 ms for a city's
-- LOW_STOCK alerts at 10,000 machines × 1 year). These indexes hold a
-- machine's rows by type (alerts) and newest first, with every column the
-- lists return: a city's list reads only the rows it returns, from the
-- index. Alerts and faults are few beside sales (~200,000 and ~50,000 a
-- year at 10,000 machines): one more index entry each.
CREATE INDEX alerts_machine_list ON alerts (site, machine_id, alert_type, event_time DESC, alert_id,
    product_id, status, detail, opened_at, closed_at, seq);
CREATE INDEX faults_machine_list ON faults (site, machine_id, event_time DESC, fault_id,
    fault_type, description, status, reported_at, resolved_at, updated_by, seq);

-- The fleet's DEX and cash reports by city give each site's sums to the
-- site's city when all its machines stand in one (0025). That city was a
-- MIN and MAX over the site's machines per site and query (1,000 range
-- reads of machines, ~4 ms of a 30-day report); this table holds it, kept
-- on apply beside the machine row (upsertSiteCity): NULL when the site's
-- machines stand in several cities, no row when it has none.
CREATE TABLE site_cities (
    site TEXT NOT NULL PRIMARY KEY,
    city TEXT
) WITHOUT ROWID;
INSERT INTO site_cities (site, city)
    SELECT site, CASE WHEN MIN(city) = MAX(city) THEN MIN(city) END FROM machines GROUP BY site;
