package balancer

// Lag: how far a member's store revision trails the others', from when
// probes first saw each revision.

import "time"

// revSample records that a member was first seen at revision rev at at
// (unix ns).
type revSample struct{ rev, at int64 }

// lagging reports whether st, which a probe just found at revision rev,
// lags: another READY member was already past rev LagGrace ago.
func (h *Health) lagging(st *endpointState, rev int64, now time.Time) bool {
	if rev == 0 {
		return false
	}
	before := now.Add(-h.timing.LagGrace).UnixNano()
	for _, o := range h.readyStates() {
		if o == st || o.Down() == int32(Lagging) {
			continue
		}
		if o.revisionAt(before) > rev {
			return true
		}
	}
	return false
}

// revisionAt returns the revision st was known to be at, at t (unix ns);
// 0 if unknown.
func (st *endpointState) revisionAt(t int64) int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	var rev int64
	for _, s := range st.revs {
		if s.at > t {
			break
		}
		rev = s.rev
	}
	return rev
}

// learnRevision records that a probe found st at revision rev at now, and
// forgets what no lag check can need any more.
func (st *endpointState) learnRevision(rev int64, now time.Time, grace time.Duration) {
	if rev == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if n := len(st.revs); n == 0 || rev > st.revs[n-1].rev {
		st.revs = append(st.revs, revSample{rev: rev, at: now.UnixNano()})
	}
	// Keep the newest sample older than the grace window, and the rest.
	before := now.Add(-grace).UnixNano()
	drop := 0
	for drop+1 < len(st.revs) && st.revs[drop+1].at <= before {
		drop++
	}
	if keep := 64; len(st.revs)-drop > keep {
		drop = len(st.revs) - keep
	}
	st.revs = append(st.revs[:0], st.revs[drop:]...)
}
