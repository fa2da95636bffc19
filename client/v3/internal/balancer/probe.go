package balancer

import (
	"context"
	"sync"
	"time"
)

// ProbeResult is what a probe learned from a member that answered.
type ProbeResult int

const (
	// Serving: the member answered and sees a leader (or did not say,
	// having refused the probe for a reason that is not its health, such
	// as an expired auth token).
	Serving ProbeResult = iota
	// Leaderless: the member answered that it has no leader.
	Leaderless
)

// ProbeReport is what a probe learned from a member that answered.
type ProbeReport struct {
	Result ProbeResult
	// Cluster is the member's cluster ID, Member its own ID, Leader the ID
	// of the leader it follows and Term its raft term; zero when it did
	// not say.
	Cluster, Member, Leader, Term uint64
	// Revision is the member's store revision; zero when it did not say.
	Revision int64
}

// ProbeFunc asks the member at addr, over the client's own connection to
// it, whether it serves. It returns an error only if the member did not
// answer (ctx carries the probe's deadline). It must not retry.
type ProbeFunc func(ctx context.Context, addr string) (ProbeReport, error)

// StartProber readies probing of the READY endpoints with probe; the
// client's use runs it, until StopProber.
//
// Probes run only while the client is in use: while a call or stream is
// open, and for Timing.IdleAfter after the last one. Each endpoint is
// probed every Timing.ProbeInterval, and all of them every
// SuspectProbeInterval while one is down, failing or suspect; an endpoint
// whose call failed, or whose attempt is being watched, is probed at
// once. A probe unanswered within ProbeTimeout declares the endpoint down
// (Silent); an answer without a leader declares it down (NoLeader); an
// answer at a revision that another member had passed LagGrace earlier
// declares it down (Lagging), and so does one naming a leader in a raft
// term older than another member's (StaleTerm); any other answer with a
// leader brings it back.
func (h *Health) StartProber(probe ProbeFunc) {
	h.probes.Start(func(ctx context.Context, now time.Time, probes *sync.WaitGroup) time.Time {
		return h.startDueProbes(ctx, now, probe, probes)
	})
}

// StopProber ends probing for good, and returns once no probe is left
// running.
func (h *Health) StopProber() { h.probes.Stop() }

// HaltProber ends probing for good without waiting for the probes in
// flight, whose context it ends.
func (h *Health) HaltProber() { h.probes.Halt() }

// startDueProbes starts the probes of the READY endpoints that are due at
// now, and returns when the next one is due. When one is due, those due
// within a quarter of the probe interval start with it: a probe costs
// mostly the wake-up of a quiet client's threads, which probes sent
// together share, and once sent together they stay in step. No probe is
// ever sent later for it.
func (h *Health) startDueProbes(ctx context.Context, now time.Time, probe ProbeFunc, probes *sync.WaitGroup) time.Time {
	states := h.readyStates()
	horizon := now
	for _, st := range states {
		if next, probing := st.probeDue(); !probing && !now.Before(next) {
			horizon = now.Add(h.timing.ProbeInterval / 4)
			break
		}
	}
	wakeAt := now.Add(h.timing.ProbeInterval)
	for _, st := range states {
		st.mu.Lock()
		next := st.nextProbeLocked()
		// A removed member's pause is kept to the letter.
		due := !st.probing && !horizon.Before(st.nextProbe) && !now.Before(st.noProbeUntil)
		if due {
			st.probing = true
		} else if !st.probing && next.Before(wakeAt) {
			wakeAt = next
		}
		st.mu.Unlock()
		if due {
			probes.Go(func() { h.probeOnce(ctx, st, probe) })
		}
	}
	return wakeAt
}

// probeDue returns when st's next probe is due, and whether one is under
// way.
func (st *endpointState) probeDue() (next time.Time, probing bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.nextProbeLocked(), st.probing
}

// nextProbeLocked is when st's next probe is due: when it was asked for,
// and not before a pause after the member's removal. st.mu must be held.
func (st *endpointState) nextProbeLocked() time.Time {
	if st.noProbeUntil.After(st.nextProbe) {
		return st.noProbeUntil
	}
	return st.nextProbe
}

// probeOnce probes st, records the verdict and schedules the next probe.
func (h *Health) probeOnce(ctx context.Context, st *endpointState, probe ProbeFunc) {
	pctx, cancel := context.WithTimeout(ctx, h.timing.ProbeTimeout)
	rep, err := probe(pctx, st.addr)
	cancel()
	if ctx.Err() != nil {
		return
	}
	switch {
	case err != nil:
		h.markDown(st, Silent)
	case rep.Result == Leaderless:
		st.heard.Store(time.Now().UnixNano())
		h.markDown(st, NoLeader)
	default:
		now := time.Now()
		switch {
		case h.staleTerm(rep):
			st.heard.Store(now.UnixNano())
			h.markDown(st, StaleTerm)
		case h.lagging(st, rep.Revision, now):
			st.heard.Store(now.UnixNano())
			h.markDown(st, Lagging)
		default:
			h.markUp(st)
			h.learnLeader(st, rep)
		}
		st.learnRevision(rep.Revision, now, h.timing.LagGrace)
	}
	interval := h.timing.ProbeInterval
	if h.suspicious(time.Now().UnixNano()) {
		interval = h.timing.SuspectProbeInterval
	}
	st.mu.Lock()
	st.probing = false
	// A probe asked for while this one ran is answered by this one.
	st.nextProbe = time.Now().Add(interval)
	st.mu.Unlock()
	h.probes.Poke()
}

// removedProbePause is how long a member removed through the client is not
// probed: long enough for it to have shut down.
const removedProbePause = 5 * time.Second

// MemberRemoved holds probes off the endpoints of the member with ID id,
// which the client has just removed from the cluster, for
// removedProbePause. A removed member may still answer for a moment, and
// etcd 3.7.3 panics on a Status call in that window ("failed to find local
// ID in cluster members"), killing the process; the official client never
// calls Status, so that must not be this client's doing. Calls still go
// where the picker sends them, and fail over as usual.
func (h *Health) MemberRemoved(id uint64) {
	until := time.Now().Add(removedProbePause)
	h.mu.Lock()
	states := make([]*endpointState, 0, len(h.eps))
	for _, st := range h.eps {
		states = append(states, st)
	}
	h.mu.Unlock()
	for _, st := range states {
		if st.member.Load() == id {
			st.mu.Lock()
			st.noProbeUntil = until
			st.mu.Unlock()
		}
	}
}

// probeSoon asks the prober to probe st now, unless a probe of it is
// under way.
func (h *Health) probeSoon(st *endpointState) {
	st.mu.Lock()
	st.nextProbe = time.Time{}
	st.mu.Unlock()
	// The others go to the suspect pace too: a lag shows only against
	// fresh revisions of the others.
	h.probeAllBy(time.Now().Add(h.timing.SuspectProbeInterval))
	h.probes.Poke()
}

// probeAllBy brings the next probe of every READY endpoint forward to soon
// at the latest. It reports whether it moved any.
func (h *Health) probeAllBy(soon time.Time) bool {
	moved := false
	for _, st := range h.readyStates() {
		st.mu.Lock()
		if st.nextProbe.After(soon) {
			st.nextProbe = soon
			moved = true
		}
		st.mu.Unlock()
	}
	return moved
}

// suspicious reports whether some READY endpoint is avoided or suspect:
// every endpoint is then probed at the suspect pace.
func (h *Health) suspicious(now int64) bool {
	for _, st := range h.readyStates() {
		if st.avoided(now) || st.suspectUntil.Load() > now {
			return true
		}
	}
	return false
}
