package wake

import "sync"

// Broadcast wakes every goroutine waiting on it at once. A waiter gets the
// channel first and then looks at the state it waits on, and the state's
// writer changes it before calling Signal, so that no change is missed
// between the look and the wait. The zero value is ready for use.
type Broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

// Wait returns a channel that is closed at the next Signal.
func (b *Broadcast) Wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// Signal wakes every goroutine waiting on a channel from Wait. It costs
// nothing when nobody waits.
func (b *Broadcast) Signal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}
