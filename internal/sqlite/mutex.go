package sqlite

import (
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// The driver opens every connection SQLITE_OPEN_FULLMUTEX, so SQLite takes
// and releases the connection's recursive mutex around every API call: every
// bind, every step and every sqlite3_column_* of every row. In the
// transpiled library that mutex is an emulated pthread recursive mutex (an
// atomic owner check plus a sync.Mutex), and a 500-row answer of 18 columns
// pays for it ~30,000 times: a profile of such a read had ~22 % of the
// process's CPU there.
//
// database/sql never uses one connection from two goroutines at once (a
// driver.Conn, its statements and rows are used under the pool's own
// locks), and vendsync never reaches a driver connection through
// sql.Conn.Raw, so that mutex never has anything to serialize. It is what
// SQLite's own "multi-thread" mode (SQLITE_OPEN_NOMUTEX) leaves out, and
// the driver offers no way to ask for that mode. So, before the first
// connection is opened, installMutexes gives SQLite a mutex
// implementation (SQLITE_CONFIG_MUTEX) in which a recursive mutex, the kind
// SQLite allocates only for a connection, does nothing, and every other
// kind (the static mutexes that guard SQLite's process-wide state: the page
// cache, the VFS, the list of open files; and the fast ones a shared cache
// or an open file's lock state uses) is a real sync.Mutex, so connections
// to the same file on different goroutines still serialize wherever they
// share state. sqlite3_interrupt, the one call the driver makes from
// another goroutine (when a context is cancelled), takes no mutex.
//
// ConnMutexes reports whether the install happened (it cannot after
// SQLite has been initialised, e.g. if another package opened a database
// first); when it did not, SQLite's own mutexes stay, which is only slower.

// mutexNoop's address is what every SQLITE_MUTEX_RECURSIVE allocation
// returns.
var mutexNoop byte

// mutexStatic holds SQLite's static mutexes, indexed by their id
// (SQLITE_MUTEX_STATIC_MAIN = 2 … SQLITE_MUTEX_STATIC_VFS3 = 13).
var mutexStatic [sqlite3.SQLITE_MUTEX_STATIC_VFS3 + 1]sync.Mutex

// noop is mutexNoop's address.
func noop() uintptr { return uintptr(unsafe.Pointer(&mutexNoop)) }

var (
	mutexInstalled bool
	mutexErr       error
)

// ConnMutexes reports whether SQLite runs without a per-connection mutex
// (see installMutexes), and why not when it does not.
func ConnMutexes() (removed bool, err error) { return mutexInstalled, mutexErr }

func init() {
	mutexInstalled, mutexErr = installMutexes()
	lossyInit()
	walErr = registerWALVFS() // after: finding the unix VFS initialises SQLite
}

func installMutexes() (bool, error) {
	tls := libc.NewTLS()
	defer tls.Close()
	m := libc.Xcalloc(tls, 1, types.Size_t(unsafe.Sizeof(sqlite3.Sqlite3_mutex_methods{})))
	if m == 0 {
		return false, fmt.Errorf("sqlite mutexes: out of memory")
	}
	mm := (*sqlite3.Sqlite3_mutex_methods)(cMem(m))
	mm.FxMutexInit = cFunc(mutexInit)
	mm.FxMutexEnd = cFunc(mutexInit)
	mm.FxMutexAlloc = cFunc(mutexAlloc)
	mm.FxMutexFree = cFunc(mutexFree)
	mm.FxMutexEnter = cFunc(mutexEnter)
	mm.FxMutexTry = cFunc(mutexTry)
	mm.FxMutexLeave = cFunc(mutexLeave)
	mm.FxMutexHeld = cFunc(mutexHeld)
	mm.FxMutexNotheld = cFunc(mutexHeld)
	va := libc.Xmalloc(tls, types.Size_t(unsafe.Sizeof(uintptr(0))))
	if va == 0 {
		libc.Xfree(tls, m)
		return false, fmt.Errorf("sqlite mutexes: out of memory")
	}
	defer libc.Xfree(tls, va)
	// The methods table must outlive the process's use of SQLite: it is
	// never freed once installed.
	if rc := sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_MUTEX, libc.VaList(va, m)); rc != sqlite3.SQLITE_OK {
		libc.Xfree(tls, m)
		return false, fmt.Errorf("sqlite mutexes: sqlite3_config(SQLITE_CONFIG_MUTEX) = %d (SQLite already initialised?)", rc)
	}
	return true, nil
}

// cFunc turns a Go function into the function pointer the transpiled
// library calls: a pointer to the func value's code pointer, as Go
// represents func values.
func cFunc[T any](f T) uintptr {
	return *(*uintptr)(unsafe.Pointer(&struct{ f T }{f}))
}

// cMem is the address p of the library's own memory as a pointer (the
// library's allocator is not Go's heap, so the garbage collector neither
// moves nor frees it).
func cMem(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func mutexInit(*libc.TLS) int32 { return sqlite3.SQLITE_OK }

func mutexAlloc(tls *libc.TLS, id int32) uintptr {
	switch {
	case id == sqlite3.SQLITE_MUTEX_RECURSIVE:
		return noop()
	case id == sqlite3.SQLITE_MUTEX_FAST:
		// In the library's own memory, not Go's: SQLite keeps the
		// address as an integer, which the garbage collector does not
		// see, and a Go pointer made from an integer is invalid.
		return libc.Xcalloc(tls, 1, types.Size_t(unsafe.Sizeof(sync.Mutex{})))
	case id >= sqlite3.SQLITE_MUTEX_STATIC_MAIN && int(id) < len(mutexStatic):
		return uintptr(unsafe.Pointer(&mutexStatic[id]))
	}
	return 0
}

func mutexFree(tls *libc.TLS, p uintptr) {
	if p != noop() {
		libc.Xfree(tls, p)
	}
}

func mutexEnter(_ *libc.TLS, p uintptr) {
	if p != noop() {
		(*sync.Mutex)(cMem(p)).Lock()
	}
}

func mutexTry(_ *libc.TLS, p uintptr) int32 {
	if p == noop() || (*sync.Mutex)(cMem(p)).TryLock() {
		return sqlite3.SQLITE_OK
	}
	return sqlite3.SQLITE_BUSY
}

func mutexLeave(_ *libc.TLS, p uintptr) {
	if p != noop() {
		(*sync.Mutex)(cMem(p)).Unlock()
	}
}

// mutexHeld serves sqlite3_mutex_held and _notheld, which SQLite calls only
// inside assert(), compiled out of this build (NDEBUG).
func mutexHeld(*libc.TLS, uintptr) int32 { return 1 }
