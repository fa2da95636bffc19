package latency

import (
	"sync/atomic"
	"time"
)

// Estimator keeps a smoothed mean of latency and its mean deviation, the
// way TCP estimates round trips (RFC 6298: gains 1/8 and 1/4). It costs two
// atomic loads and stores per sample and no memory of past samples. The
// zero value is ready to use; it is safe for concurrent use (concurrent
// samples may overwrite one another, which leaves the estimate sound).
type Estimator struct {
	srtt   atomic.Int64 // ns
	rttvar atomic.Int64 // ns
}

// Observe folds one sample into the estimate.
func (e *Estimator) Observe(d time.Duration) {
	v := int64(d)
	srtt := e.srtt.Load()
	if srtt == 0 {
		e.srtt.Store(v)
		e.rttvar.Store(v / 2)
		return
	}
	dev := v - srtt
	if dev < 0 {
		dev = -dev
	}
	rttvar := e.rttvar.Load()
	e.rttvar.Store(rttvar + (dev-rttvar)/4)
	e.srtt.Store(srtt + (v-srtt)/8)
}

// Worst is the usual worst latency: the smoothed mean plus four mean
// deviations (TCP's retransmission timeout). Zero before any sample.
func (e *Estimator) Worst() time.Duration {
	return time.Duration(e.srtt.Load() + 4*e.rttvar.Load())
}

// Bound is factor times Worst, and at least floor: how long a client lets
// an attempt run before it suspects it.
func (e *Estimator) Bound(floor time.Duration, factor int64) time.Duration {
	return max(floor, time.Duration(factor)*e.Worst())
}
