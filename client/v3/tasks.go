package clientv3

import "sync"

// tasks runs the goroutines that serve a client's calls in the background
// (the guards of slow attempts, the deliveries of GetStream), so that
// Close can wait for them: when Close returns, every goroutine the client
// started has ended. A call's goroutines end soon after the call does,
// and the calls in flight at Close fail once the connection closes.
type tasks struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// start runs f in a goroutine of its own, unless the client is closed, in
// which case it reports false and f does not run.
func (t *tasks) start(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// closeAndWait refuses new goroutines and waits for the running ones.
func (t *tasks) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}

// startTask runs f in a goroutine. When c is not nil the goroutine is one
// of c's tasks, so that c.Close returns only once it has ended, also for
// Watchers and Leases that the program made on c and never closed. It
// reports false, without running f, if c is closing; c's context has then
// ended.
func startTask(c *Client, f func()) bool {
	if c == nil {
		go f()
		return true
	}
	return c.tasks.start(f)
}
