package ordering

import (
	"errors"
	"sync/atomic"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// ErrNoGreaterRev is returned when no member answered with a revision at
// least as new as one seen before.
var ErrNoGreaterRev = errors.New("etcdclient: no cluster members have a revision higher than the previously received revision")

// errNilClient replaces the panic the official closure hits on its first
// violation when it was made without a client.
var errNilClient = errors.New("ordering: NewOrderViolationSwitchEndpointClosure was given a nil client")

// retriesPerEndpoint is how many times, per endpoint of the client, stale
// responses are let through to be issued again: the client spreads
// requests over its endpoints, so after that many it is very likely that
// none of them has caught up.
const retriesPerEndpoint = 5

// NewOrderViolationSwitchEndpointClosure returns an OrderViolationFunc
// that has the operation issued again, letting the client's balancer send
// it to another endpoint, until it has been called more than five times
// per endpoint of c (counted at each call): one violation more than that
// is let through, and every violation after it fails with
// ErrNoGreaterRev.
//
// The count covers every call the function handles, for its whole life,
// and is never reset, exactly as the official closure counts: a long-lived
// wrapper that has used up its retries fails each later violation at once.
func NewOrderViolationSwitchEndpointClosure(c *clientv3.Client) OrderViolationFunc {
	var violations atomic.Int32
	return func(clientv3.Op, clientv3.OpResponse, int64) error {
		if c == nil {
			return errNilClient
		}
		if violations.Load() > int32(retriesPerEndpoint*len(c.Endpoints())) {
			return ErrNoGreaterRev
		}
		violations.Add(1)
		return nil
	}
}
