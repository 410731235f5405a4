//go:build lossydisk

package sqlite

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// A disk that loses what was not synced, for the power-loss tests. Built
// only with the tag lossydisk and on only when VENDSYNC_LOSSY_DISK=1: then
// every database and WAL file SQLite opens (through walVFS), and every
// file written with TrackWrite, has a shadow beside it (path +
// DurableSuffix) that holds what a power cut would leave of it. A write
// goes to the file at once and is kept in memory; a sync of the file (an
// xSync, or Fdatasync of any descriptor of it) applies the writes kept so
// far to the shadow. After the process is killed, a test that moves every
// shadow over its file (and removes the -shm files, memory that a power
// cut loses) has the files as that power cut would leave them. A deletion
// is taken as durable at once, and so is the creation of a file; what was
// in a file when it was first tracked is taken as durable.

var lossyOn bool

type lossyOp struct {
	off   int64
	data  []byte
	trunc bool
}

type lossyFile struct {
	mu     sync.Mutex
	shadow *os.File
	ops    []lossyOp
}

var lossy struct {
	mu    sync.Mutex
	open  map[uintptr]string // SQLite's open files -> path
	files map[string]*lossyFile
}

func lossyInit() {
	lossyOn = os.Getenv("VENDSYNC_LOSSY_DISK") == "1"
	lossy.open = map[uintptr]string{}
	lossy.files = map[string]*lossyFile{}
}

func lossyPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// lossyOf returns path's state, making its shadow (a copy of the file as
// it is) the first time. A failure is fatal: the test could not trust
// what it finds.
func lossyOf(path string) *lossyFile {
	path = lossyPath(path)
	lossy.mu.Lock()
	defer lossy.mu.Unlock()
	if f := lossy.files[path]; f != nil {
		return f
	}
	shadow, err := os.OpenFile(path+DurableSuffix, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		panic("lossy disk: " + err.Error())
	}
	if src, err := os.Open(path); err == nil {
		_, err = io.Copy(shadow, src)
		src.Close()
		if err != nil {
			panic("lossy disk: " + err.Error())
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		panic("lossy disk: " + err.Error())
	}
	f := &lossyFile{shadow: shadow}
	lossy.files[path] = f
	return f
}

func (f *lossyFile) add(op lossyOp) {
	f.mu.Lock()
	f.ops = append(f.ops, op)
	f.mu.Unlock()
}

// sync applies the writes kept so far to the shadow.
func (f *lossyFile) sync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, op := range f.ops {
		var err error
		if op.trunc {
			err = f.shadow.Truncate(op.off)
		} else {
			_, err = f.shadow.WriteAt(op.data, op.off)
		}
		if err != nil {
			panic("lossy disk: " + err.Error())
		}
	}
	f.ops = f.ops[:0]
}

func lossyOpened(p uintptr, name string) {
	lossyOf(name)
	lossy.mu.Lock()
	lossy.open[p] = lossyPath(name)
	lossy.mu.Unlock()
}

func lossyOpenPath(p uintptr) (string, bool) {
	lossy.mu.Lock()
	defer lossy.mu.Unlock()
	path, ok := lossy.open[p]
	return path, ok
}

func lossyWrote(p uintptr, off int64, b []byte) {
	if path, ok := lossyOpenPath(p); ok {
		lossyOf(path).add(lossyOp{off: off, data: slices.Clone(b)})
	}
}

func lossyTruncated(p uintptr, size int64) {
	if path, ok := lossyOpenPath(p); ok {
		lossyOf(path).add(lossyOp{off: size, trunc: true})
	}
}

func lossySynced(p uintptr) {
	if path, ok := lossyOpenPath(p); ok {
		lossyOf(path).sync()
	}
}

func lossySyncedPath(path string) {
	lossy.mu.Lock()
	f := lossy.files[lossyPath(path)]
	lossy.mu.Unlock()
	if f != nil {
		f.sync()
	}
}

func lossyClosed(p uintptr) {
	lossy.mu.Lock()
	delete(lossy.open, p)
	lossy.mu.Unlock()
}

func lossyDeleted(name string) {
	path := lossyPath(name)
	lossy.mu.Lock()
	f := lossy.files[path]
	delete(lossy.files, path)
	lossy.mu.Unlock()
	if f != nil {
		f.shadow.Close()
	}
	os.Remove(path + DurableSuffix)
}

func trackWrite(path string, off int64, b []byte) {
	lossyOf(path).add(lossyOp{off: off, data: slices.Clone(b)})
}
