// Package torture is vendsync's fault-injection suite: a Go test behind the
// build tag "torture" (make torture, make torture-ci) that builds the real
// binary, runs a 3-node central cluster and several sites as processes with
// TLS as in production, sells at every site while a seeded random schedule
// kills, cuts, partitions, skews clocks and fills disks, then heals
// everything and checks the ledger of every acknowledged sale against every
// site and every central node. RELIABILITY.md has the figures of a run.
//
// The package has no code outside its tests; `go test ./...` without the
// tag runs nothing here.
package torture
