//go:build !lossydisk

package sqlite

// The lossy disk (lossy_on.go) exists only in binaries built with the tag
// lossydisk, for the power-loss tests; in every other build these do
// nothing and the compiler drops the calls.

const lossyOn = false

func lossyInit()                        {}
func lossyOpened(uintptr, string)       {}
func lossyWrote(uintptr, int64, []byte) {}
func lossyTruncated(uintptr, int64)     {}
func lossySynced(uintptr)               {}
func lossySyncedPath(string)            {}
func lossyClosed(uintptr)               {}
func lossyDeleted(string)               {}
func trackWrite(string, int64, []byte)  {}
