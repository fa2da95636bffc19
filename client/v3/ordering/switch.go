package ordering

import (
	"errors"
	"sync"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// ErrNoGreaterRev is returned when no member answered with a revision at
// least as new as one seen before.
var ErrNoGreaterRev = errors.New("etcdclient: no cluster members have a revision higher than the previously received revision")

// retriesPerEndpoint is how many times, per endpoint of the client, a
// stale read is issued again before giving up: the client spreads reads
// over its endpoints, so after this many tries it is very likely that
// none of them has caught up.
const retriesPerEndpoint = 5

// NewOrderViolationSwitchEndpointClosure returns an OrderViolationFunc
// that has the read issued again, letting the client's balancer send it
// to another endpoint, and gives up with ErrNoGreaterRev after five tries
// per endpoint of c without progress. Unlike a plain counter, the budget
// starts afresh once a newer revision has been seen, so a long-lived
// client does not run out of retries.
func NewOrderViolationSwitchEndpointClosure(c *clientv3.Client) OrderViolationFunc {
	var (
		mu       sync.Mutex
		count    int
		lastPrev int64
	)
	return func(_ clientv3.Op, _ clientv3.OpResponse, prevRev int64) error {
		mu.Lock()
		defer mu.Unlock()
		if prevRev > lastPrev {
			// Something read or wrote a newer revision since the last
			// violation: this is a new episode.
			lastPrev, count = prevRev, 0
		}
		if count >= retriesPerEndpoint*max(len(c.Endpoints()), 1) {
			return ErrNoGreaterRev
		}
		count++
		return nil
	}
}
