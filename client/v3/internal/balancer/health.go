package balancer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Backoff bounds for avoiding a failing endpoint.
const (
	minAvoid = 500 * time.Millisecond
	maxAvoid = 5 * time.Second
)

// Health holds what one client has learned about each of its endpoints.
// It is safe for concurrent use.
type Health struct {
	mu  sync.Mutex
	eps map[string]*endpointState
}

// NewHealth returns an empty Health.
func NewHealth() *Health { return &Health{eps: make(map[string]*endpointState)} }

// endpointState is the record of one endpoint, keyed by dial target. The
// picker's hot path reads it with atomics only.
type endpointState struct {
	addr       string
	avoidUntil atomic.Int64 // unix nanoseconds
	failures   atomic.Int32 // consecutive
	latency    atomic.Int64 // moving average of successful calls, ns

	mu      sync.Mutex
	lastErr error
}

func (h *Health) state(addr string) *endpointState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.eps[addr]
	if !ok {
		st = &endpointState{addr: addr}
		h.eps[addr] = st
	}
	return st
}

// EndpointHealth is a snapshot of one endpoint's record.
type EndpointHealth struct {
	Addr       string
	Avoided    bool
	Failures   int
	LastErr    error
	AvgLatency time.Duration
}

// Endpoint returns the current record of addr.
func (h *Health) Endpoint(addr string) EndpointHealth {
	st := h.state(addr)
	st.mu.Lock()
	lastErr := st.lastErr
	st.mu.Unlock()
	return EndpointHealth{
		Addr:       addr,
		Avoided:    st.avoided(time.Now().UnixNano()),
		Failures:   int(st.failures.Load()),
		LastErr:    lastErr,
		AvgLatency: time.Duration(st.latency.Load()),
	}
}

// Observe records the outcome of a call to addr that took d.
func (h *Health) Observe(addr string, err error, d time.Duration) { h.state(addr).observe(err, d) }

func (st *endpointState) avoided(now int64) bool { return st.avoidUntil.Load() > now }

func (st *endpointState) observe(err error, d time.Duration) {
	if err == nil {
		if st.failures.Load() != 0 {
			st.failures.Store(0)
			st.avoidUntil.Store(0)
		}
		old := st.latency.Load()
		if old == 0 {
			st.latency.Store(int64(d))
		} else {
			st.latency.Store(old + (int64(d)-old)/8)
		}
		return
	}
	if !MarksUnhealthy(err) {
		return
	}
	n := st.failures.Add(1)
	backoff := minAvoid << min(n-1, 4)
	st.avoidUntil.Store(time.Now().Add(min(backoff, maxAvoid)).UnixNano())
	st.mu.Lock()
	st.lastErr = err
	st.mu.Unlock()
}

// MarksUnhealthy reports whether a call failing with err says something
// about the member that served it: it was unreachable, had no leader,
// timed out or was stopped. Errors about the request itself do not.
func MarksUnhealthy(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}
