// Package tiebreak finishes a page that was read in the order of a coarse
// key an index gives (a timestamp) when the page's order also breaks ties
// by a finer key no index gives (an id, a text key). Asked in SQL, the
// tie-break makes SQLite open a sorter for every run of equal timestamps,
// and that sorter was 40 % of a ledger read (BENCHMARKS.md, wave 14). So
// the query orders by the coarse key alone, with no LIMIT; the reader
// appends rows until Full says the page is complete, and Finish sorts each
// run of equal coarse keys and cuts the page: the same rows, in the same
// order, as ORDER BY coarse, fine LIMIT n.
package tiebreak

import "slices"

// Full reports whether a page read in coarse order holds its n rows and
// every row that ties with the last of them: page holds the rows read so
// far and next is the row just read, not yet in it. The caller stops
// reading at the first next that makes Full true (and drops that row).
func Full[T any](page []T, next *T, n int, tie func(a, b *T) bool) bool {
	return len(page) >= n && !tie(&page[len(page)-1], next)
}

// Finish sorts each run of tying rows of page (read in coarse order) by
// cmp and returns its first n rows. The rows past n are cleared, so that
// an array kept for later pages holds none of their strings.
func Finish[T any](page []T, n int, tie func(a, b *T) bool, cmp func(a, b T) int) []T {
	for i := 0; i < len(page); {
		j := i + 1
		for j < len(page) && tie(&page[i], &page[j]) {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(page[i:j], cmp)
		}
		i = j
	}
	if len(page) > n {
		clear(page[n:])
		page = page[:n]
	}
	return page
}
