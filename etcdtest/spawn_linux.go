package etcdtest

import (
	"os/exec"
	"runtime"
	"syscall"
)

// startProcess starts cmd in its own process group (so a signal reaches the
// whole group), with SIGKILL as its parent-death signal so that the kernel
// kills it when the test binary dies, however that happens. It returns a
// channel closed once the process has exited and been reaped.
//
// The parent-death signal fires when the thread that forked the child exits,
// not the process, so the child is forked and waited for on a thread locked
// to one goroutine: the thread lives exactly as long as the child.
func startProcess(cmd *exec.Cmd) (exited <-chan struct{}, err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	done := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		defer close(done)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}
