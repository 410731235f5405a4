package sqlite

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite appends a commit to the WAL one frame at a time, and each frame
// with two writes: its 24-byte header, then the page. A sale dirties ~14
// pages, a group commit of 64 clients ~31, so a commit is 28-62 pwrite
// calls, and on this kind of virtual machine a pwrite costs ~5 µs of CPU
// whatever its size: a third of one sale's writer CPU.
//
// walVFS is the "unix" VFS with one change: a WAL file gathers the
// contiguous writes SQLite makes into one buffer and hands them to the
// file in one write,
//   - as soon as the page of a commit frame is written (a frame header whose
//     "database size" field is not zero marks the commit frame), so a commit
//     has reached the file, in full and in order, before that write returns
//     and before SQLite publishes the commit to other connections (the
//     wal-index header is written after the frames); an error of that write
//     is the commit's error, as before;
//   - before any other call on the file (read, sync, truncate, size, file
//     control, close), so a transaction that reads back a page it spilled
//     into the WAL reads what it wrote, and a sync covers everything;
//   - before a write that does not continue the buffer, and when the buffer
//     is full.
//
// Nothing is ever held across a commit, so durability (synchronous=FULL's
// fsync, or the pipelined writer's fdatasync after the commit) and what
// readers see are unchanged. Other files (the database, the -shm, temp
// files) are the unix VFS's own.
const walVFSName = "vendsync-wal"

// walBufSize is the most a WAL file gathers before it writes: a group
// commit of 64 sales is ~128 KiB. It must stay under 128 KiB: the unix
// VFS masks a write's length to 17 bits (it expects a page at most), and
// answers a longer write as a full disk.
const walBufSize = 127 << 10

// walFile is what SQLite holds for a WAL file opened through walVFS: a
// sqlite3_file whose methods are walMethods, followed in the same
// allocation by the unix VFS's own file, inner. It lives in the library's
// memory.
type walFile struct {
	methods uintptr // sqlite3_file.pMethods
	inner   uintptr // the unix VFS's file
	buf     uintptr // walBufSize bytes, allocated at the first write
	start   int64   // the file offset of buf[0]
	n       int32   // bytes in buf
	commit  int32   // the last write was a commit frame's header
	direct  int32   // not a WAL (a database wrapped for the lossy disk): no buffer
}

const walFileSize = int32(unsafe.Sizeof(walFile{}))

var (
	walUnix    uintptr // the unix VFS
	walMethods uintptr // the io methods of a walFile
	walReady   bool
	walErr     error

	// walWritesIn counts the writes SQLite made to WAL files, walWritesOut
	// those the files were given (tests read them).
	walWritesIn, walWritesOut atomic.Int64
	// walDatasyncs counts the WAL syncs made with datasync, walUnixSyncs
	// those the unix VFS made (tests read them).
	walDatasyncs, walUnixSyncs atomic.Int64
)

// registerWALVFS registers walVFS (not as the default). On failure the
// databases open with the unix VFS.
func registerWALVFS() error {
	tls := libc.NewTLS()
	defer tls.Close()
	unix := sqlite3.Xsqlite3_vfs_find(tls, 0)
	if unix == 0 {
		return fmt.Errorf("sqlite: no default VFS")
	}
	u := (*sqlite3.Tsqlite3_vfs)(cMem(unix))
	v := libc.Xcalloc(tls, 1, types.Size_t(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
	name, err := libc.CString(walVFSName)
	if v == 0 || err != nil {
		return fmt.Errorf("sqlite: out of memory")
	}
	m := libc.Xcalloc(tls, 1, types.Size_t(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
	if m == 0 {
		return fmt.Errorf("sqlite: out of memory")
	}
	vfs := (*sqlite3.Tsqlite3_vfs)(cMem(v))
	*vfs = *u
	vfs.FpNext = 0
	vfs.FzName = name
	vfs.FszOsFile = walFileSize + u.FszOsFile
	vfs.FxOpen = cFunc(walOpen)
	if lossyOn {
		vfs.FxDelete = cFunc(walDelete)
	}
	mm := (*sqlite3.Tsqlite3_io_methods)(cMem(m))
	mm.FiVersion = 3
	mm.FxClose = cFunc(walClose)
	mm.FxRead = cFunc(walRead)
	mm.FxWrite = cFunc(walWrite)
	mm.FxTruncate = cFunc(walTruncate)
	mm.FxSync = cFunc(walSync)
	mm.FxFileSize = cFunc(walFileSizeOf)
	mm.FxLock = cFunc(walLock)
	mm.FxUnlock = cFunc(walUnlock)
	mm.FxCheckReservedLock = cFunc(walCheckReservedLock)
	mm.FxFileControl = cFunc(walFileControl)
	mm.FxSectorSize = cFunc(walSectorSize)
	mm.FxDeviceCharacteristics = cFunc(walDeviceCharacteristics)
	mm.FxShmMap = cFunc(walShmMap)
	mm.FxShmLock = cFunc(walShmLock)
	mm.FxShmBarrier = cFunc(walShmBarrier)
	mm.FxShmUnmap = cFunc(walShmUnmap)
	mm.FxFetch = cFunc(walFetch)
	mm.FxUnfetch = cFunc(walUnfetch)
	walUnix, walMethods = unix, m
	if rc := sqlite3.Xsqlite3_vfs_register(tls, v, 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite: sqlite3_vfs_register = %d", rc)
	}
	walReady = true
	return nil
}

// cCall turns the library's function pointer fp into a Go func value of
// type T (the inverse of cFunc).
func cCall[T any](fp uintptr) T { return *(*T)(unsafe.Pointer(&fp)) }

func walOpen(tls *libc.TLS, _ uintptr, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	u := (*sqlite3.Tsqlite3_vfs)(cMem(walUnix))
	open := cCall[func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32](u.FxOpen)
	wal := flags&sqlite3.SQLITE_OPEN_WAL != 0
	if !wal && !(lossyOn && flags&sqlite3.SQLITE_OPEN_MAIN_DB != 0) {
		return open(tls, walUnix, zName, pFile, flags, pOutFlags)
	}
	f := (*walFile)(cMem(pFile))
	*f = walFile{inner: pFile + uintptr(walFileSize)}
	if !wal {
		f.direct = 1
	}
	rc := open(tls, walUnix, zName, f.inner, flags, pOutFlags)
	if (*sqlite3.Tsqlite3_file)(cMem(f.inner)).FpMethods != 0 {
		// Set even when the open failed: SQLite then closes the file
		// through these methods, and walClose closes inner.
		f.methods = walMethods
	}
	if rc == sqlite3.SQLITE_OK && lossyOn {
		lossyOpened(pFile, libc.GoString(zName))
	}
	if rc == sqlite3.SQLITE_OK && wal {
		l, _ := walLens.LoadOrStore(libc.GoString(zName), new(atomic.Int64))
		walFiles.Store(pFile, l)
	}
	return rc
}

// walLens maps a WAL file's path to how far SQLite has written it since it
// last started it again from the beginning (a write at offset 0 is its
// header's); walFiles maps each open walFile to its path's entry. The
// checkpointer reads it (walLength) to see a WAL grow between its rounds.
var walLens, walFiles sync.Map

// walLength is how far SQLite has written the WAL at path since it last
// started it again, as far as this process saw (0 when it saw nothing).
func walLength(path string) int64 {
	if l, ok := walLens.Load(path); ok {
		return l.(*atomic.Int64).Load()
	}
	return 0
}

// wrote notes SQLite's write of [off, end) in f's length.
func (f *walFile) wrote(off, end int64) {
	v, ok := walFiles.Load(f.self())
	if !ok {
		return
	}
	l := v.(*atomic.Int64)
	if off == 0 || end > l.Load() {
		l.Store(end)
	}
}

// put writes amt bytes at data to the file at off.
func (f *walFile) put(tls *libc.TLS, data uintptr, amt int32, off int64) int32 {
	walWritesOut.Add(1)
	rc := cCall[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](f.io().FxWrite)(tls, f.inner, data, amt, off)
	if rc == sqlite3.SQLITE_OK && lossyOn {
		lossyWrote(f.self(), off, unsafe.Slice((*byte)(cMem(data)), amt))
	}
	if rc == sqlite3.SQLITE_OK && f.direct == 0 {
		f.wrote(off, off+int64(amt))
	}
	return rc
}

func (f *walFile) self() uintptr { return uintptr(unsafe.Pointer(f)) }

func (f *walFile) io() *sqlite3.Tsqlite3_io_methods {
	return (*sqlite3.Tsqlite3_io_methods)(cMem((*sqlite3.Tsqlite3_file)(cMem(f.inner)).FpMethods))
}

// flush writes what f holds.
func (f *walFile) flush(tls *libc.TLS) int32 {
	if f.n == 0 {
		return sqlite3.SQLITE_OK
	}
	n, start := f.n, f.start
	f.n, f.commit = 0, 0
	return f.put(tls, f.buf, n, start)
}

func walFileOf(p uintptr) *walFile { return (*walFile)(cMem(p)) }

func walWrite(tls *libc.TLS, p, data uintptr, amt int32, off int64) int32 {
	f := walFileOf(p)
	walWritesIn.Add(1)
	// The last write of a commit: kept across the flush below, which
	// forgets it.
	last := f.commit != 0
	if f.n > 0 && (off != f.start+int64(f.n) || f.n+amt > walBufSize) {
		if rc := f.flush(tls); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	if amt > walBufSize || f.direct != 0 {
		return f.put(tls, data, amt, off)
	}
	if f.buf == 0 {
		if f.buf = libc.Xmalloc(tls, walBufSize); f.buf == 0 {
			return sqlite3.SQLITE_NOMEM
		}
	}
	if f.n == 0 {
		f.start = off
	}
	copy(unsafe.Slice((*byte)(cMem(f.buf+uintptr(f.n))), amt), unsafe.Slice((*byte)(cMem(data)), amt))
	f.n += amt
	// A frame header is 24 bytes: bytes 4-7 hold the database's size in
	// pages after a commit, and are zero in every other frame. The write
	// after a commit frame's header is the commit's last.
	if last {
		return f.flush(tls)
	}
	if amt == 24 {
		h := unsafe.Slice((*byte)(cMem(data)), 8)
		if h[4]|h[5]|h[6]|h[7] != 0 {
			f.commit = 1
		}
	}
	return sqlite3.SQLITE_OK
}

func walClose(tls *libc.TLS, p uintptr) int32 {
	f := walFileOf(p)
	rc := f.flush(tls)
	rc2 := cCall[func(*libc.TLS, uintptr) int32](f.io().FxClose)(tls, f.inner)
	if lossyOn {
		lossyClosed(p)
	}
	walFiles.Delete(p)
	if f.buf != 0 {
		libc.Xfree(tls, f.buf)
		f.buf = 0
	}
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	return rc2
}

// after calls fn with f and the unix file's methods once f has written
// what it holds, and answers the flush's error instead when it fails.
func after(tls *libc.TLS, p uintptr, fn func(f *walFile, m *sqlite3.Tsqlite3_io_methods) int32) int32 {
	f := walFileOf(p)
	if rc := f.flush(tls); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return fn(f, f.io())
}

type ioMethods = sqlite3.Tsqlite3_io_methods

func walRead(tls *libc.TLS, p, data uintptr, amt int32, off int64) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		return cCall[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](m.FxRead)(tls, f.inner, data, amt, off)
	})
}

func walTruncate(tls *libc.TLS, p uintptr, size int64) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		rc := cCall[func(*libc.TLS, uintptr, int64) int32](m.FxTruncate)(tls, f.inner, size)
		if v, ok := walFiles.Load(p); ok && v.(*atomic.Int64).Load() > size {
			v.(*atomic.Int64).Store(size)
		}
		if rc == sqlite3.SQLITE_OK && lossyOn {
			lossyTruncated(p, size)
		}
		return rc
	})
}

// walSync makes the WAL durable. The unix VFS syncs with fsync (this
// build of SQLite has no fdatasync), which also writes the file's times to
// the file system's journal; a WAL's commit needs its bytes and, when it
// grew, its size, which is what fdatasync writes (native SQLite on Linux
// uses it). So a WAL is synced with fdatasync, except while the unix VFS
// still owes the directory its sync (UNIXFILE_DIRSYNC: a WAL just
// created, whose first sync also syncs its directory), and a database file wrapped for
// the lossy disk keeps the unix VFS's sync.
func walSync(tls *libc.TLS, p uintptr, flags int32) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		var rc int32
		inner := (*sqlite3.TunixFile)(cMem(f.inner))
		if f.direct == 0 && inner.FctrlFlags&sqlite3.UNIXFILE_DIRSYNC == 0 && canDatasync {
			// A failed flush is not tried again: the kernel may have
			// dropped the pages it could not write, and a second flush
			// would then report success. SQLite sees the error, as the
			// unix VFS reports it.
			if err := datasync(inner.Fh); err != nil {
				rc = sqlite3.SQLITE_IOERR_FSYNC
			}
			walDatasyncs.Add(1)
		} else {
			rc = cCall[func(*libc.TLS, uintptr, int32) int32](m.FxSync)(tls, f.inner, flags)
			walUnixSyncs.Add(1)
		}
		if rc == sqlite3.SQLITE_OK && lossyOn {
			lossySynced(p)
		}
		return rc
	})
}

func walFileSizeOf(tls *libc.TLS, p, pSize uintptr) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		return cCall[func(*libc.TLS, uintptr, uintptr) int32](m.FxFileSize)(tls, f.inner, pSize)
	})
}

func walLock(tls *libc.TLS, p uintptr, lock int32) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		return cCall[func(*libc.TLS, uintptr, int32) int32](m.FxLock)(tls, f.inner, lock)
	})
}

func walUnlock(tls *libc.TLS, p uintptr, lock int32) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		return cCall[func(*libc.TLS, uintptr, int32) int32](m.FxUnlock)(tls, f.inner, lock)
	})
}

func walFileControl(tls *libc.TLS, p uintptr, op int32, arg uintptr) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		return cCall[func(*libc.TLS, uintptr, int32, uintptr) int32](m.FxFileControl)(tls, f.inner, op, arg)
	})
}

// These read no data: nothing to write first.

func walCheckReservedLock(tls *libc.TLS, p, pOut uintptr) int32 {
	f := walFileOf(p)
	return cCall[func(*libc.TLS, uintptr, uintptr) int32](f.io().FxCheckReservedLock)(tls, f.inner, pOut)
}

func walSectorSize(tls *libc.TLS, p uintptr) int32 {
	f := walFileOf(p)
	return cCall[func(*libc.TLS, uintptr) int32](f.io().FxSectorSize)(tls, f.inner)
}

func walDeviceCharacteristics(tls *libc.TLS, p uintptr) int32 {
	f := walFileOf(p)
	return cCall[func(*libc.TLS, uintptr) int32](f.io().FxDeviceCharacteristics)(tls, f.inner)
}

// The WAL file is never mapped as a database's shared memory or read
// through mmap; these forward to the unix file all the same, after a
// flush, when its methods have them.

func walShmMap(tls *libc.TLS, p uintptr, pg, size, extend int32, pp uintptr) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		if m.FiVersion < 2 {
			return sqlite3.SQLITE_IOERR
		}
		return cCall[func(*libc.TLS, uintptr, int32, int32, int32, uintptr) int32](m.FxShmMap)(tls, f.inner, pg, size, extend, pp)
	})
}

func walShmLock(tls *libc.TLS, p uintptr, off, n, flags int32) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		if m.FiVersion < 2 {
			return sqlite3.SQLITE_IOERR
		}
		return cCall[func(*libc.TLS, uintptr, int32, int32, int32) int32](m.FxShmLock)(tls, f.inner, off, n, flags)
	})
}

func walShmBarrier(tls *libc.TLS, p uintptr) {
	after(tls, p, func(f *walFile, m *ioMethods) int32 {
		if m.FiVersion >= 2 {
			cCall[func(*libc.TLS, uintptr)](m.FxShmBarrier)(tls, f.inner)
		}
		return sqlite3.SQLITE_OK
	})
}

func walShmUnmap(tls *libc.TLS, p uintptr, del int32) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		if m.FiVersion < 2 {
			return sqlite3.SQLITE_OK
		}
		return cCall[func(*libc.TLS, uintptr, int32) int32](m.FxShmUnmap)(tls, f.inner, del)
	})
}

func walFetch(tls *libc.TLS, p uintptr, off int64, amt int32, pp uintptr) int32 {
	return after(tls, p, func(f *walFile, m *ioMethods) int32 {
		if m.FiVersion < 3 {
			*(*uintptr)(cMem(pp)) = 0
			return sqlite3.SQLITE_OK
		}
		return cCall[func(*libc.TLS, uintptr, int64, int32, uintptr) int32](m.FxFetch)(tls, f.inner, off, amt, pp)
	})
}

func walUnfetch(tls *libc.TLS, p uintptr, off int64, page uintptr) int32 {
	f := walFileOf(p)
	if f.io().FiVersion < 3 {
		return sqlite3.SQLITE_OK
	}
	return cCall[func(*libc.TLS, uintptr, int64, uintptr) int32](f.io().FxUnfetch)(tls, f.inner, off, page)
}

// walDelete deletes a file (the lossy disk's VFS only): the deletion is
// taken as durable at once.
func walDelete(tls *libc.TLS, _ uintptr, zName uintptr, syncDir int32) int32 {
	u := (*sqlite3.Tsqlite3_vfs)(cMem(walUnix))
	rc := cCall[func(*libc.TLS, uintptr, uintptr, int32) int32](u.FxDelete)(tls, walUnix, zName, syncDir)
	lossyDeleted(libc.GoString(zName))
	return rc
}
