package readmodel

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// dex_spans and cash_spans (migration 0026) hold the sums of dex_days and
// cash_days per aligned block of span days (spanWidths), kept on apply in
// the same transaction as the day rows. A report's whole days are read as
// aligned blocks, largest first from the left, plus single days
// (spanPieces): a 30-day range reads 4 to 8 rows per site or driver
// instead of up to 30, a year 6 to 13 instead of up to 365.

// spanWidths are the block sizes in days, smallest first. A block of w
// days starts at a UTC day whose number since 1970-01-01 is a multiple of w.
var spanWidths = [...]int64{2, 4, 8, 16, 32, 64, 128, 256}

// A rollupPiece is part of a range's whole days: w == 1 the days [from, to)
// of the day table, else the one block of w days starting at from.
type rollupPiece struct {
	w, from, to int64
}

// spanPieces splits the whole days [a, b) (unix ms of UTC day starts, a >=
// 0) into aligned blocks, the largest that fits taken first from the left,
// and runs of single days.
func spanPieces(a, b int64) []rollupPiece {
	var out []rollupPiece
	for p := a; p < b; {
		w := int64(1)
		for _, x := range spanWidths {
			if (p/dayMS)%x == 0 && p+x*dayMS <= b {
				w = x
			}
		}
		if w == 1 && len(out) > 0 && out[len(out)-1].w == 1 && out[len(out)-1].to == p {
			out[len(out)-1].to += dayMS
		} else {
			out = append(out, rollupPiece{w, p, p + w*dayMS})
		}
		p += w * dayMS
	}
	return out
}

// piecesSQL is a UNION ALL of the rows of days (dex_days or cash_days) and
// spans (dex_spans or cash_spans) of group grp that make up pieces, each
// as key and cols, and its arguments.
func piecesSQL(days, spans, cols, grp string, pieces []rollupPiece) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 3*len(pieces))
	for i, p := range pieces {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		if p.w == 1 {
			fmt.Fprintf(&b, "SELECT key, %s FROM %s WHERE grp = ? AND day >= ? AND day < ?", cols, days)
			args = append(args, grp, p.from, p.to)
		} else {
			fmt.Fprintf(&b, "SELECT key, %s FROM %s WHERE grp = ? AND span = ? AND day = ?", cols, spans)
			args = append(args, grp, p.w, p.from)
		}
	}
	return b.String(), args
}

const (
	dexSumCols = `n, machine_count, machine_cents, ledger_count, ledger_cents, unreported_count, unreported_cents,
		missing_count, missing_cents, price_mismatches, test_vends, free_vends, alerted, last_at`
	cashSumCols = `n, amount_cents, expected_ledger, expected_dex, counted_with_dex, dex_n, last_at`
)

// spanUpsert is an upsert into table (dex_spans or cash_spans) of one
// reconciliation's or collection's sums into the block of every width
// (spanWidths) that holds its day, for both groups: the site's (key ?1)
// and the driver's (?2). ?3 is the day (unix ms of its start), ?4... the
// values of cols in order, last_at last; each adds but last_at, which
// takes the maximum. The block starts as migration 0026 computes them.
func spanUpsert(table string, cols []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (grp, span, day, key, %s) SELECT g.column1, w.column1, ?3 - ?3 %% (w.column1 * %d), g.column2",
		table, strings.Join(cols, ", "), dayMS)
	for i := range cols {
		fmt.Fprintf(&b, ", ?%d", 4+i)
	}
	b.WriteString(" FROM (VALUES ('site', ?1), ('driver', ?2)) g, (VALUES ")
	for i, w := range spanWidths {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d)", w)
	}
	b.WriteString(") w WHERE true ON CONFLICT (grp, span, day, key) DO UPDATE SET ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		if c == "last_at" {
			b.WriteString("last_at = MAX(last_at, excluded.last_at)")
		} else {
			fmt.Fprintf(&b, "%s = %s + excluded.%s", c, c, c)
		}
	}
	return b.String()
}

var (
	// upsertDEXSpans and upsertCashSpans add one reconciliation's or
	// collection's sums to every block of both groups (site, driver).
	upsertDEXSpans = spanUpsert("dex_spans", []string{"n", "machine_count", "machine_cents", "ledger_count", "ledger_cents",
		"unreported_count", "unreported_cents", "missing_count", "missing_cents", "price_mismatches", "test_vends", "free_vends",
		"alerted", "last_at"})
	upsertCashSpans = spanUpsert("cash_spans", []string{"n", "amount_cents", "expected_ledger", "expected_dex", "counted_with_dex",
		"dex_n", "last_at"})
)

// dataPieces is spanPieces of the whole days [a, b) narrowed to the days
// that group grp of the day table days (dex_days or cash_days) has rows
// for: an open range then reads no empty blocks back to 1970 or forward to
// the end of time. No day is one empty range (piecesSQL needs a piece).
func (s *Store) dataPieces(ctx context.Context, days, grp string, a, b int64) ([]rollupPiece, error) {
	var lo, hi sql.NullInt64
	q := "SELECT (SELECT MIN(day) FROM " + days + " WHERE grp = ?1), (SELECT MAX(day) FROM " + days + " WHERE grp = ?1)"
	if err := s.db.QueryRow(ctx, q, grp).Scan(&lo, &hi); err != nil {
		return nil, err
	}
	var out []rollupPiece
	if lo.Valid && hi.Valid {
		out = spanPieces(max(a, lo.Int64), min(b, hi.Int64+dayMS))
	}
	if len(out) == 0 {
		out = []rollupPiece{{1, 0, 0}} // no day: a query of no rows
	}
	return out, nil
}
