package clientv3

import (
	"math/rand/v2"
	"time"
)

// Reconnection delays of the watch and lease keep-alive streams. The first
// retry is almost immediate, because the usual cause is one member going
// away while the balancer already has others ready; the delay then grows
// so that a cluster that is down is not hammered.
const (
	streamRetryMin = 25 * time.Millisecond
	streamRetryMax = 2 * time.Second
)

// streamBackoff yields exponentially growing, jittered delays between
// attempts to reopen a stream. Jitter spreads the reconnections of many
// clients that lost the same member.
type streamBackoff struct {
	attempt int
}

// next returns the delay before the next attempt.
func (b *streamBackoff) next() time.Duration {
	d := streamRetryMax
	if b.attempt < 16 {
		d = min(streamRetryMin<<b.attempt, streamRetryMax)
	}
	b.attempt++
	return d/2 + rand.N(d/2+1)
}

// reset makes the next delay the shortest again; call it once a stream
// has proved healthy.
func (b *streamBackoff) reset() { b.attempt = 0 }
