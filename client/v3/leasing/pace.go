package leasing

import (
	"context"
	"time"

	"github.com/a74b11dd/etcdkit/internal/backoff"
)

// retryPace spaces the attempts at something that failed for a reason that
// may go away by itself (etcd out of reach, a lease that cannot be granted
// yet): 25 ms doubling to 500 ms, so that a short outage costs little
// latency and a long one little load.
var retryPace = backoff.Exponential{Base: 25 * time.Millisecond, Max: 500 * time.Millisecond}

// pacer counts the failures of one retry loop. Its zero value starts over.
type pacer struct{ failures int }

// delay returns the pause before the next attempt.
func (p *pacer) delay() time.Duration {
	p.failures++
	return retryPace.Delay(p.failures)
}

// sleep waits for d. It reports false, at once, if ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
