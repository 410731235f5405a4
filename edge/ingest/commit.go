package ingest

// A rule that sums deltas over a transaction (as CountSale does for
// sales_agg) writes them once, at commit: one upsert per key however many
// requests of the batch changed it, instead of one per change.

// committer is a pair registered with OnCommit.
type committer struct {
	reset func()
	write func(*Tx) error
}

// OnCommit adds a rule's per-transaction sums to the writer: reset runs as
// every transaction begins (forgetting what a failed one left behind), and
// write runs once the batch's requests are done, before the held writes
// are flushed and the transaction commits (what write holds is flushed
// with the rest); its error fails the transaction. Only the
// writer's goroutine calls them. Call it before Open.
func (w *Writer) OnCommit(reset func(), write func(*Tx) error) {
	if w.opened {
		panic("ingest: OnCommit after Open")
	}
	w.commits = append(w.commits, committer{reset: reset, write: write})
}
