package main

import (
	"github.com/spf13/pflag"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/ingest"
)

// addFsyncFlag adds `edge run --fsync`: how a write is made durable before
// the edge acknowledges it.
func addFsyncFlag(f *pflag.FlagSet, c *edge.IngestConfig) {
	f.Var((*fsyncFlag)(&c.Fsync), "fsync", `how a write is made durable before it is acknowledged: "inline" (each commit fsyncs itself, synchronous=FULL), "pipelined" (commit, then fsync the WAL while the next batch runs; one fsync covers every commit before it) or "log" (a single sale is made durable by a few hundred bytes appended to an intake log next to the database and fdatasynced while the next batch runs, instead of the WAL pages its commit dirtied; on start the sales the database lost in a power cut are recorded again from it; other writes fsync the WAL as "pipelined"); all acknowledge only what is on disk`)
}

// fsyncFlag is an ingest.Fsync as a flag value (checked by Validate).
type fsyncFlag ingest.Fsync

func (v *fsyncFlag) String() string { return string(*v) }
func (v *fsyncFlag) Set(s string) error {
	*v = fsyncFlag(s)
	return ingest.Config{MaxBatch: 1, Fsync: ingest.Fsync(s)}.Validate()
}
func (v *fsyncFlag) Type() string { return "mode" }
