package balancer

// The leader view: which member the probes say leads, in which term, so
// that a member following a deposed leader is found out.

import "time"

// leaderView is one probe's view of the leader. Terms compare only within
// one cluster: a client whose endpoints were moved to another cluster
// learns that cluster's leader afresh.
type leaderView struct {
	cluster, id, term uint64
}

// learnLeader records the member behind st and the leader it follows. A
// view from a higher term replaces the current one: a leader cut off from
// the others keeps naming itself for an election timeout after they have
// elected a new one in a later term. A new term brings every probe
// forward, so that the members still in an older one are found out at once
// (staleTerm) rather than at their next probe.
func (h *Health) learnLeader(st *endpointState, rep ProbeReport) {
	if rep.Member != 0 {
		st.member.Store(rep.Member)
	}
	if rep.Leader == 0 {
		return
	}
	for {
		cur := h.leader.Load()
		if cur != nil && cur.cluster == rep.Cluster && (cur.term > rep.Term || cur.id == rep.Leader && cur.term == rep.Term) {
			return
		}
		if h.leader.CompareAndSwap(cur, &leaderView{cluster: rep.Cluster, id: rep.Leader, term: rep.Term}) {
			if cur != nil && cur.cluster == rep.Cluster && rep.Term > cur.term && h.probeAllBy(time.Now()) {
				h.probes.Poke()
			}
			return
		}
	}
}

// staleTerm reports whether rep, a member's answer naming a leader, comes
// from a raft term older than the latest in which a member named a leader.
func (h *Health) staleTerm(rep ProbeReport) bool {
	cur := h.leader.Load()
	return cur != nil && cur.cluster == rep.Cluster && rep.Leader != 0 && rep.Term != 0 && rep.Term < cur.term
}

// leaderID returns the ID of the leader as last learned, 0 if unknown.
func (h *Health) leaderID() uint64 {
	if v := h.leader.Load(); v != nil {
		return v.id
	}
	return 0
}

// LeaderElsewhere reports whether the leader the probes named is reached
// through a READY endpoint that is not avoided and is not addr: a stream
// whose requests are the leader's to answer (MarkForLeader) that went to
// addr is better moved there. It reads only atomics.
func (h *Health) LeaderElsewhere(addr string) bool {
	id := h.leaderID()
	if id == 0 {
		return false
	}
	now := time.Now().UnixNano()
	elsewhere := false
	for _, st := range h.readyStates() {
		if st.member.Load() != id {
			continue
		}
		if st.addr == addr {
			return false
		}
		elsewhere = elsewhere || !st.avoided(now)
	}
	return elsewhere
}
