package balancer

// Verdicts: what a call's outcome, or a probe's, says about an endpoint,
// and what the callers on an endpoint learn of it.

import (
	"context"
	"errors"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
	"github.com/a74b11dd/etcdkit/internal/backoff"
)

// avoidBackoff is how long an endpoint whose calls fail is avoided, by
// consecutive failures: 0.5 s after the first, doubling up to 5 s.
var avoidBackoff = backoff.Exponential{Base: 500 * time.Millisecond, Max: 5 * time.Second}

// Observe records the outcome of a call to addr that took d.
func (h *Health) Observe(addr string, err error, d time.Duration) {
	h.observe(h.state(addr), err, d, false)
}
func (st *endpointState) avoided(now int64) bool {
	return st.IsDown() || st.avoidUntil.Load() > now
}

// observe learns from a call to st that ended with err after d. Streams
// teach nothing about latency: they last as long as their owner wants.
func (h *Health) observe(st *endpointState, err error, d time.Duration, stream bool) {
	if err == nil {
		st.heard.Store(time.Now().UnixNano())
		if st.failures.Load() != 0 {
			st.failures.Store(0)
			st.avoidUntil.Store(0)
		}
		if !stream {
			st.Latency.Observe(d)
			h.lat.Observe(d)
		}
		return
	}
	if !MarksUnhealthy(err) {
		return
	}
	n := st.failures.Add(1)
	st.avoidUntil.Store(time.Now().Add(avoidBackoff.Delay(int(n))).UnixNano())
	st.mu.Lock()
	st.lastErr = err
	st.mu.Unlock()
	if retry.IsNoLeader(err) {
		h.markDown(st, NoLeader)
	}
	h.probeSoon(st)
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

// markDown records a down verdict for st and tells everyone waiting on
// its down channel. Every verdict closes the channel, even for an
// endpoint already down, so that a stream left on a down endpoint (for
// want of a better one) is asked again whether it can move.
func (h *Health) markDown(st *endpointState, why DownReason) {
	st.MarkDown(int32(why))
	st.downs.Signal()
}

// markUp records that a probe found st serving with a leader: it is fit
// again, whatever its calls did before.
func (h *Health) markUp(st *endpointState) {
	st.heard.Store(time.Now().UnixNano())
	st.MarkUp()
	st.failures.Store(0)
	st.avoidUntil.Store(0)
}

// Down returns a channel that is closed at the next down verdict for
// addr, and the endpoint's current state. A caller on addr that finds it
// down, or is woken, asks HasAlternative whether to move.
func (h *Health) Down(addr string) (<-chan struct{}, DownReason) {
	st := h.state(addr)
	ch := st.downs.Wait()
	return ch, DownReason(st.Down())
}

// HasAlternative reports whether some READY endpoint other than addr is
// not avoided, so that leaving addr is worth it.
func (h *Health) HasAlternative(addr string) bool {
	now := time.Now().UnixNano()
	for _, st := range h.readyStates() {
		if st.addr != addr && !st.avoided(now) {
			return true
		}
	}
	return false
}

// heardSince reports whether addr answered anything after t.
func (h *Health) heardSince(addr string, t int64) bool {
	st := h.lookup(addr)
	return st != nil && st.heard.Load() > t
}

// WatchAttempt is run for an attempt of an idempotent call to addr,
// started at start, that has not been answered within AttemptBound. If
// the member answered nothing since start, it is suspect: avoided by new
// calls until a probe, sent at once, clears it. WatchAttempt calls abandon
// when addr is declared down while another endpoint is fit, so that the
// call is re-sent there. A member that answers probes but is slow to
// answer this call is left to finish it. WatchAttempt returns when ctx
// (the attempt's) ends or after calling abandon.
func (h *Health) WatchAttempt(ctx context.Context, addr string, start time.Time, abandon func()) {
	st := h.state(addr)
	now := time.Now()
	if st.heard.Load() <= start.UnixNano() {
		until := now.Add(h.timing.ProbeTimeout + h.timing.SuspectProbeInterval).UnixNano()
		if st.avoidUntil.Load() < until {
			st.avoidUntil.Store(until)
		}
	}
	// Answering but slow: perhaps cut off from its peers without knowing
	// yet. Probe it at the suspect pace for a while, to hear it first.
	st.suspectUntil.Store(now.Add(3 * h.timing.ProbeInterval).UnixNano())
	h.probeSoon(st)
	for {
		ch, why := h.Down(addr)
		if why != Up && h.HasAlternative(addr) {
			abandon()
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}
