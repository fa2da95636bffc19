package health

import (
	"sync/atomic"

	"github.com/a74b11dd/etcdkit/internal/latency"
)

// Record is one endpoint's health. The zero value is an endpoint that is
// up and not yet measured. It is safe for concurrent use; its reads are
// single atomic loads.
type Record struct {
	// down is why the endpoint is down, in the client's own codes; zero
	// while it is up.
	down       atomic.Int32
	recoveries atomic.Uint64
	// Latency is the endpoint's moving average latency, of whatever the
	// client measures (probes, or its calls).
	Latency latency.Average
}

// Down returns why the endpoint is down, or zero if it is up.
func (r *Record) Down() int32 { return r.down.Load() }

// IsDown reports whether the endpoint is down.
func (r *Record) IsDown() bool { return r.down.Load() != 0 }

// MarkDown records that the endpoint is down for why, which must not be
// zero; a later verdict replaces the reason. It reports whether the
// endpoint was up until now.
func (r *Record) MarkDown(why int32) (wasUp bool) { return r.down.Swap(why) == 0 }

// MarkUp records that the endpoint is up. It reports whether it was down,
// in which case it counts a recovery.
func (r *Record) MarkUp() (wasDown bool) {
	if r.down.Swap(0) == 0 {
		return false
	}
	r.recoveries.Add(1)
	return true
}

// Recoveries counts the endpoint's returns from down to up, so that a
// caller can tell whether an endpoint it tried has come back since.
func (r *Record) Recoveries() uint64 { return r.recoveries.Load() }
