package clientv3

import (
	"time"

	"github.com/a74b11dd/etcdkit/internal/backoff"
)

// Reconnection delays of the watch and lease keep-alive streams. The first
// retry is almost immediate, because the usual cause is one member going
// away while the balancer already has others ready; the delay then grows
// so that a cluster that is down is not hammered.
var streamRetry = backoff.Exponential{Base: 25 * time.Millisecond, Max: 2 * time.Second}

// streamBackoff yields exponentially growing, jittered delays between
// attempts to reopen a stream. Jitter spreads the reconnections of many
// clients that lost the same member.
type streamBackoff struct {
	attempt int
}

// next returns the delay before the next attempt.
func (b *streamBackoff) next() time.Duration {
	b.attempt++
	return backoff.Half(streamRetry.Delay(b.attempt))
}

// reset makes the next delay the shortest again; call it once a stream
// has proved healthy.
func (b *streamBackoff) reset() { b.attempt = 0 }
