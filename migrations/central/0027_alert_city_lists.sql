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
