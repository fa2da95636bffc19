package balancer

import (
	"context"
	"time"
)

// leaderPoll is how often a held write looks again for a leader in reach.
const leaderPoll = 25 * time.Millisecond

// AwaitLeader holds a write while the leader the client knows of is out of
// reach: it is one of the client's endpoints, but its connection is not
// READY or the endpoint is avoided. Sent now, the write would go to a
// follower, which would forward it to a leader that may be gone; if that
// leader was killed, the write waits out the caller's deadline without an
// answer, and it cannot be re-sent, since it may have been applied. Held,
// it goes to the next leader as soon as a probe names it, typically an
// election timeout later. While writes are held every endpoint is probed
// at the suspect pace.
//
// AwaitLeader returns at once if the leader is unknown, not among the
// client's endpoints, or in reach; else when a leader is in reach again or
// after limit, whichever comes first (the write then goes where the picker
// sends it), with ctx's error if ctx ends first, the write unsent. It
// returns how long it held the write, for a caller that bounds the hold
// of all of a call's attempts together.
func (h *Health) AwaitLeader(ctx context.Context, limit time.Duration) (time.Duration, error) {
	if limit <= 0 || !h.leaderOutOfReach() {
		return 0, nil
	}
	start := time.Now()
	give := start.Add(limit)
	t := time.NewTicker(leaderPoll)
	defer t.Stop()
	for {
		h.hurryProbes()
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case now := <-t.C:
			if !h.leaderOutOfReach() || !now.Before(give) {
				return now.Sub(start), nil
			}
		}
	}
}

// leaderOutOfReach reports whether the leader last learned is one of the
// client's endpoints and none of its READY endpoints is fit. It runs for
// every write, so it reads only atomics.
func (h *Health) leaderOutOfReach() bool {
	id := h.leaderID()
	if id == 0 {
		return false
	}
	now := time.Now().UnixNano()
	for _, st := range h.readyStates() {
		if st.member.Load() == id && !st.avoided(now) {
			return false
		}
	}
	for _, st := range loadStates(&h.current) {
		if st.member.Load() == id {
			return true
		}
	}
	return false
}

// setCurrent records the dial targets of the client's endpoints.
func (h *Health) setCurrent(addrs []string) {
	sts := make([]*endpointState, 0, len(addrs))
	for _, a := range addrs {
		sts = append(sts, h.state(a))
	}
	h.current.Store(&sts)
}

// hurryProbes puts every READY endpoint at the suspect pace for a while,
// so that the next leader is learned soon after it is elected.
func (h *Health) hurryProbes() {
	now := time.Now()
	until := now.Add(h.timing.ProbeInterval).UnixNano()
	for _, st := range h.readyStates() {
		if st.suspectUntil.Load() < until {
			st.suspectUntil.Store(until)
		}
	}
	if h.probeAllBy(now.Add(h.timing.SuspectProbeInterval)) {
		h.probes.Poke()
	}
}

// AwaitLeaderKnown returns once a probe has named a leader, or after limit,
// or when ctx ends, whichever comes first: a stream whose requests are the
// leader's to answer, opened by a client that has only begun to probe,
// then goes to the leader rather than where the round-robin would send it.
func (h *Health) AwaitLeaderKnown(ctx context.Context, limit time.Duration) {
	if h.leaderID() != 0 || limit <= 0 {
		return
	}
	give := time.Now().Add(limit)
	t := time.NewTicker(leaderPoll)
	defer t.Stop()
	for h.leaderID() == 0 {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !now.Before(give) {
				return
			}
		}
	}
}
