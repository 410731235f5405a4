-- Issue 14, wave 8: the fleet's DEX and cash reports over a month read
-- ~30,000 site-day rows of dex_days / cash_days (0022). These tables hold
-- the same sums per block of span days (2, 4, 8, ... 256), each block
-- starting at a UTC day whose number since 1970-01-01 is a multiple of
-- span (day is the unix ms of that start). A range's whole days are read
-- as aligned blocks, largest first from the left, and single days from
-- dex_days / cash_days: a 30-day range reads 4 to 8 rows per site instead
-- of 30, a year 6 to 13 instead of 365. Kept on apply in the same
-- transaction as the day rows; each level is filled from the one below.
-- (A UTC day before 1970 rounds towards zero here as in dex_days.)

CREATE TABLE dex_spans (
    grp  TEXT    NOT NULL,
    span INTEGER NOT NULL,   -- days in the block
    day  INTEGER NOT NULL,   -- unix ms of the block's first UTC day
    key  TEXT    NOT NULL,
    n INTEGER NOT NULL,
    machine_count INTEGER NOT NULL,
    machine_cents INTEGER NOT NULL,
    ledger_count INTEGER NOT NULL,
    ledger_cents INTEGER NOT NULL,
    unreported_count INTEGER NOT NULL,
    unreported_cents INTEGER NOT NULL,
    missing_count INTEGER NOT NULL,
    missing_cents INTEGER NOT NULL,
    price_mismatches INTEGER NOT NULL,
    test_vends INTEGER NOT NULL,
    free_vends INTEGER NOT NULL,
    alerted INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (grp, span, day, key)
) WITHOUT ROWID;

INSERT INTO dex_spans (grp, span, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
    SELECT grp, 2, day - day % 172800000, key, SUM(n), SUM(machine_count), SUM(machine_cents), SUM(ledger_count), SUM(ledger_cents), SUM(unreported_count), SUM(unreported_cents), SUM(missing_count), SUM(missing_cents), SUM(price_mismatches), SUM(test_vends), SUM(free_vends), SUM(alerted), MAX(last_at)
    FROM dex_days GROUP BY grp, day - day % 172800000, key;
INSERT INTO dex_spans (grp, span, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
    SELECT grp, 4, day - day % 345600000, key, SUM(n), SUM(machine_count), SUM(machine_cents), SUM(ledger_count), SUM(ledger_cents), SUM(unreported_count), SUM(unreported_cents), SUM(missing_count), SUM(missing_cents), SUM(price_mismatches), SUM(test_vends), SUM(free_vends), SUM(alerted), MAX(last_at)
    FROM dex_spans WHERE span = 2 GROUP BY grp, day - day % 345600000, key;
INSERT INTO dex_spans (grp, span, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
    SELECT grp, 8, day - day % 691200000, key, SUM(n), SUM(machine_count), SUM(machine_cents), SUM(ledger_count), SUM(ledger_cents), SUM(unreported_count), SUM(unreported_cents), SUM(missing_count), SUM(missing_cents), SUM(price_mismatches), SUM(test_vends), SUM(free_vends), SUM(alerted), MAX(last_at)
    FROM dex_spans WHERE span = 4 GROUP BY grp, day - day % 691200000, key;
INSERT INTO dex_spans (grp, span, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
    SELECT grp, 16, day - day % 1382400000, key, SUM(n), SUM(machine_count), SUM(machine_cents), SUM(ledger_count), SUM(ledger_cents), SUM(unreported_count), SUM(unreported_cents), SUM(missing_count), SUM(missing_cents), SUM(price_mismatches), SUM(test_vends), SUM(free_vends), SUM(alerted), MAX(last_at)
    FROM dex_spans WHERE span = 8 GROUP BY grp, day - day % 1382400000, key;
INSERT INTO dex_spans (grp, span, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
    SELECT grp, 32, day - day % 2764800000, key, SUM(n), SUM(machine_count), SUM(machine_cents), SUM(ledger_count), SUM(ledger_cents), SUM(unreported_count), SUM(unreported_cents), SUM(missing_count), SUM(missing_cents), SUM(price_mismatches), SUM(test_vends), SUM(free_vends), SUM(alerted), MAX(last_at)
    FROM dex_spans WHERE span = 16 GROUP BY grp, day - day % 2764800000, key;
INSERT INTO dex_spans (grp, span, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
    SELECT grp, 64, day - day % 5529600000, key, SUM(n), SUM(machine_count), SUM(machine_cents), SUM(ledger_count), SUM(ledger_cents), SUM(unreported_count), SUM(unreported_cents), SUM(missing_count), SUM(missing_cents), SUM(price_mismatches), SUM(test_vends), SUM(free_vends), SUM(alerted), MAX(last_at)
    FROM dex_spans WHERE span = 32 GROUP BY grp, day - day % 5529600000, key;
INSERT INTO dex_spans (grp, span, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
    SELECT grp, 128, day - day % 11059200000, key, SUM(n), SUM(machine_count), SUM(machine_cents), SUM(ledger_count), SUM(ledger_cents), SUM(unreported_count), SUM(unreported_cents), SUM(missing_count), SUM(missing_cents), SUM(price_mismatches), SUM(test_vends), SUM(free_vends), SUM(alerted), MAX(last_at)
    FROM dex_spans WHERE span = 64 GROUP BY grp, day - day % 11059200000, key;
INSERT INTO dex_spans (grp, span, day, key, n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents, missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at)
    SELECT grp, 256, day - day % 22118400000, key, SUM(n), SUM(machine_count), SUM(machine_cents), SUM(ledger_count), SUM(ledger_cents), SUM(unreported_count), SUM(unreported_cents), SUM(missing_count), SUM(missing_cents), SUM(price_mismatches), SUM(test_vends), SUM(free_vends), SUM(alerted), MAX(last_at)
    FROM dex_spans WHERE span = 128 GROUP BY grp, day - day % 22118400000, key;


CREATE TABLE cash_spans (
    grp  TEXT    NOT NULL,
    span INTEGER NOT NULL,   -- days in the block
    day  INTEGER NOT NULL,   -- unix ms of the block's first UTC day
    key  TEXT    NOT NULL,
    n INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    expected_ledger INTEGER NOT NULL,
    expected_dex INTEGER NOT NULL,
    counted_with_dex INTEGER NOT NULL,
    dex_n INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (grp, span, day, key)
) WITHOUT ROWID;

INSERT INTO cash_spans (grp, span, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
    SELECT grp, 2, day - day % 172800000, key, SUM(n), SUM(amount_cents), SUM(expected_ledger), SUM(expected_dex), SUM(counted_with_dex), SUM(dex_n), MAX(last_at)
    FROM cash_days GROUP BY grp, day - day % 172800000, key;
INSERT INTO cash_spans (grp, span, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
    SELECT grp, 4, day - day % 345600000, key, SUM(n), SUM(amount_cents), SUM(expected_ledger), SUM(expected_dex), SUM(counted_with_dex), SUM(dex_n), MAX(last_at)
    FROM cash_spans WHERE span = 2 GROUP BY grp, day - day % 345600000, key;
INSERT INTO cash_spans (grp, span, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
    SELECT grp, 8, day - day % 691200000, key, SUM(n), SUM(amount_cents), SUM(expected_ledger), SUM(expected_dex), SUM(counted_with_dex), SUM(dex_n), MAX(last_at)
    FROM cash_spans WHERE span = 4 GROUP BY grp, day - day % 691200000, key;
INSERT INTO cash_spans (grp, span, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
    SELECT grp, 16, day - day % 1382400000, key, SUM(n), SUM(amount_cents), SUM(expected_ledger), SUM(expected_dex), SUM(counted_with_dex), SUM(dex_n), MAX(last_at)
    FROM cash_spans WHERE span = 8 GROUP BY grp, day - day % 1382400000, key;
INSERT INTO cash_spans (grp, span, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
    SELECT grp, 32, day - day % 2764800000, key, SUM(n), SUM(amount_cents), SUM(expected_ledger), SUM(expected_dex), SUM(counted_with_dex), SUM(dex_n), MAX(last_at)
    FROM cash_spans WHERE span = 16 GROUP BY grp, day - day % 2764800000, key;
INSERT INTO cash_spans (grp, span, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
    SELECT grp, 64, day - day % 5529600000, key, SUM(n), SUM(amount_cents), SUM(expected_ledger), SUM(expected_dex), SUM(counted_with_dex), SUM(dex_n), MAX(last_at)
    FROM cash_spans WHERE span = 32 GROUP BY grp, day - day % 5529600000, key;
INSERT INTO cash_spans (grp, span, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
    SELECT grp, 128, day - day % 11059200000, key, SUM(n), SUM(amount_cents), SUM(expected_ledger), SUM(expected_dex), SUM(counted_with_dex), SUM(dex_n), MAX(last_at)
    FROM cash_spans WHERE span = 64 GROUP BY grp, day - day % 11059200000, key;
INSERT INTO cash_spans (grp, span, day, key, n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at)
    SELECT grp, 256, day - day % 22118400000, key, SUM(n), SUM(amount_cents), SUM(expected_ledger), SUM(expected_dex), SUM(counted_with_dex), SUM(dex_n), MAX(last_at)
    FROM cash_spans WHERE span = 128 GROUP BY grp, day - day % 22118400000, key;
