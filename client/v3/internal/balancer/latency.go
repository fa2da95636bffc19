package balancer

// Latency: the client-wide estimate of how long a call usually takes,
// which bounds how long an attempt runs before it is watched.

import "time"

// attemptBoundFactor: an attempt is watched after twice the client's usual
// worst latency.
const attemptBoundFactor = 2

// AttemptBound is how long an attempt of an idempotent call may run
// before it is watched: attemptBoundFactor times the client's usual worst
// latency of successful unary calls (their smoothed mean plus four mean
// deviations), and at least Timing.MinAttemptBound.
func (h *Health) AttemptBound() time.Duration {
	return h.lat.Bound(h.timing.MinAttemptBound, attemptBoundFactor)
}
