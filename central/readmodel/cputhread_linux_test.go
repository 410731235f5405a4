package readmodel

import (
	"syscall"
	"time"
	"unsafe"
)

// threadCPU is the CPU time of the calling OS thread so far
// (CLOCK_THREAD_CPUTIME_ID). A goroutine that measures with it holds
// runtime.LockOSThread, so it counts what that goroutine ran and not the
// time it waited for a core: the steady figure on a shared machine.
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
