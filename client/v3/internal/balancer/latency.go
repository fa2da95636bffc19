package balancer

// Latency: the client-wide estimate of how long a call usually takes,
// which bounds how long an attempt runs before it is watched.

import "time"

func ewma(old, v int64) int64 {
	if old == 0 {
		return v
	}
	return old + (v-old)/8
}

// learnLatency updates the client-wide latency estimate the way TCP
// estimates round trips (RFC 6298): a smoothed mean and mean deviation.
// Concurrent updates may lose one another; the estimate stays sound.
func (h *Health) learnLatency(d int64) {
	srtt := h.srtt.Load()
	if srtt == 0 {
		h.srtt.Store(d)
		h.rttvar.Store(d / 2)
		return
	}
	dev := d - srtt
	if dev < 0 {
		dev = -dev
	}
	rttvar := h.rttvar.Load()
	h.rttvar.Store(rttvar + (dev-rttvar)/4)
	h.srtt.Store(srtt + (d-srtt)/8)
}

// AttemptBound is how long an attempt of an idempotent call may run
// before it is watched: twice the client's usual worst latency (smoothed
// mean plus four mean deviations), and at least Timing.MinAttemptBound.
func (h *Health) AttemptBound() time.Duration {
	rto := time.Duration(h.srtt.Load() + 4*h.rttvar.Load())
	return max(h.timing.MinAttemptBound, 2*rto)
}
