package balancer

// Proofs: answers to calls that only a member following a live leader can
// give, which stand in for that member's probe.

import "time"

// Proof is what an answer that proves its member follows a live leader
// says of the member: its response header.
type Proof struct {
	Cluster, Member, Term uint64
	Revision              int64
}

// Proved records that the member at addr answered, at now, a call only a
// member following a live leader can answer (a lease renewal: only the
// leader renews, and a follower forwards the renewal to it). When the
// answer says no more than the member's last probe did — the same member,
// in the term of the leader the client knows, not behind the others — it
// stands for a probe: the member's next probe is put off to
// proofStanding after now. A probe is an isolated round trip, which wakes
// an otherwise quiet client's threads (about 1 ms of CPU each, measured);
// a member that keeps answering such calls (a busy keep-alive stream) is
// thus not probed as well.
//
// Nothing else changes: a member whose answers stop is probed
// proofStanding after the last; an answer from another
// term, from a member behind, or while an endpoint is down or suspect
// leaves the probes as they were, so that the probe judges.
func (h *Health) Proved(addr string, p Proof, now time.Time) {
	st := h.lookup(addr)
	if st == nil {
		return
	}
	ns := now.UnixNano()
	if st.avoided(ns) || h.suspicious(ns) || st.member.Load() != p.Member {
		return
	}
	cur := h.leader.Load()
	if cur == nil || cur.cluster != p.Cluster || cur.term != p.Term {
		return
	}
	if h.lagging(st, p.Revision, now) {
		return
	}
	st.heard.Store(ns)
	st.learnRevision(p.Revision, now, h.timing.LagGrace)
	next := now.Add(h.proofStanding())
	st.mu.Lock()
	if !st.probing && st.nextProbe.Before(next) {
		st.nextProbe = next
	}
	st.mu.Unlock()
}

// proofStanding is how long a proof stands for a probe: the probe
// interval and a quarter, so that a stream whose answers come once per
// probe interval (the lessor's batches can settle at that pace) does not
// lose the race to the probe by a few milliseconds each time.
func (h *Health) proofStanding() time.Duration {
	return h.timing.ProbeInterval + h.timing.ProbeInterval/4
}
