package tiebreak

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

type row struct {
	at  int64
	key string
}

func tie(a, b *row) bool { return a.at == b.at }

func fine(a, b row) int { return cmp.Compare(a.key, b.key) }

// Reading rows in coarse order until Full and then Finish gives, for any
// n, the first n rows of the full order (coarse, then fine): runs of
// ties cut by the page's end or not, a page longer than the rows, n of 1.
func TestFullFinish_AsTheFullOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		var rows []row
		for range rnd.IntN(60) {
			rows = append(rows, row{at: rnd.Int64N(12), key: string(rune('a' + rnd.IntN(26)))})
		}
		// What the query gives: coarse order, ties in any order.
		slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(a.at, b.at) })
		want := slices.Clone(rows)
		slices.SortStableFunc(want, func(a, b row) int { return cmp.Or(cmp.Compare(a.at, b.at), fine(a, b)) })
		for n := 1; n <= len(rows)+1; n++ {
			var page []row
			for i := range rows {
				if Full(page, &rows[i], n, tie) {
					break
				}
				page = append(page, rows[i])
			}
			got := Finish(page, n, tie, fine)
			w := want[:min(n, len(want))]
			if len(got) != len(w) {
				t.Fatalf("round %d, n %d: %d rows, want %d", round, n, len(got), len(w))
			}
			for i := range w {
				if got[i].at != w[i].at || got[i].key != w[i].key {
					t.Fatalf("round %d, n %d: row %d is %v, want %v\n got  %v\n want %v", round, n, i, got[i], w[i], got, w)
				}
			}
			if tail := page[len(got):cap(page)][:len(page)-len(got)]; slices.ContainsFunc(tail, func(r row) bool { return r != row{} }) {
				t.Fatalf("round %d, n %d: rows past the page not cleared: %v", round, n, tail)
			}
		}
	}
}
