package latency

import (
	"sync/atomic"
	"time"
)

// Average is an exponentially weighted moving average of one endpoint's
// latency, for comparing endpoints with one another. Each sample weighs
// 1/2^Shift; a zero Shift means 3 (1/8). The zero value is ready to use and
// reads zero until the first sample; it is safe for concurrent use.
type Average struct {
	Shift uint8
	v     atomic.Int64 // ns
}

// Observe folds one sample into the average.
func (a *Average) Observe(d time.Duration) {
	old := a.v.Load()
	if old == 0 {
		a.v.Store(int64(d))
		return
	}
	shift := a.Shift
	if shift == 0 {
		shift = 3
	}
	a.v.Store(old + (int64(d)-old)/(1<<shift))
}

// Load returns the average; zero before any sample.
func (a *Average) Load() time.Duration { return time.Duration(a.v.Load()) }

// Store sets the average to d, as if it were the only sample.
func (a *Average) Store(d time.Duration) { a.v.Store(int64(d)) }
