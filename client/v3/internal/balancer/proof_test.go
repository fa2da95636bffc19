package balancer

import (
	"testing"
	"time"
)

// provingUntil calls Proved for addr with p every 5 ms (faster than
// fastTiming's probe interval) for d.
func provingUntil(h *Health, addr string, p Proof, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		h.Proved(addr, p, time.Now())
	}
}

func TestAMemberThatKeepsProvingItFollowsTheKnownLeaderIsNotProbed(t *testing.T) {
	h, f := probedInUse(t, map[string]ProbeReport{
		"a": {Cluster: 9, Member: 1, Leader: 1, Term: 3, Revision: 10},
		"b": {Cluster: 9, Member: 2, Leader: 1, Term: 3, Revision: 10},
	})
	waitFor(t, "both members probed", func() bool { return f.count("a") > 0 && f.count("b") > 0 })

	a, b := f.count("a"), f.count("b")
	provingUntil(h, "a", Proof{Cluster: 9, Member: 1, Term: 3, Revision: 10}, 10*fastTiming.ProbeInterval)
	if n := f.count("a") - a; n > 1 {
		t.Errorf("a, proving itself all along, was probed %d times in 10 probe intervals; want at most the one under way", n)
	}
	if n := f.count("b") - b; n < 5 {
		t.Errorf("b, which proved nothing, was probed %d times in 10 probe intervals; want its usual pace", n)
	}
	a = f.count("a")
	time.Sleep(5 * fastTiming.ProbeInterval)
	if f.count("a") == a {
		t.Error("a was not probed again after its proofs stopped")
	}
}

func TestAProofThatSaysSomethingNewLeavesTheProbeToJudge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proof Proof
	}{
		{"another term", Proof{Cluster: 9, Member: 1, Term: 4, Revision: 11}},
		{"another member", Proof{Cluster: 9, Member: 7, Term: 3, Revision: 11}},
		{"another cluster", Proof{Cluster: 8, Member: 1, Term: 3, Revision: 11}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, f := probedInUse(t, map[string]ProbeReport{"a": {Cluster: 9, Member: 1, Leader: 1, Term: 3, Revision: 10}})
			waitFor(t, "a probed", func() bool { return f.count("a") > 0 })
			a := f.count("a")
			provingUntil(h, "a", tc.proof, 10*fastTiming.ProbeInterval)
			if n := f.count("a") - a; n < 5 {
				t.Errorf("proofs from %s put off a's probes: %d in 10 probe intervals, want its usual pace", tc.name, n)
			}
		})
	}
}

func TestProofsOfAMemberThatIsDownDoNotPutOffItsProbes(t *testing.T) {
	h, f := probedInUse(t, map[string]ProbeReport{
		"a": {Cluster: 9, Member: 1, Leader: 1, Term: 3},
		"b": {Cluster: 9, Member: 2, Leader: 1, Term: 3},
	})
	waitFor(t, "a probed", func() bool { return f.count("a") > 0 })
	f.set("a", "leaderless")
	waitFor(t, "a is down", func() bool { return h.Endpoint("a").Down == NoLeader })
	f.set("a", "ok")
	waitFor(t, "a's probe brings it back despite its proofs", func() bool {
		h.Proved("a", Proof{Cluster: 9, Member: 1, Term: 3}, time.Now())
		return h.Endpoint("a").Down == Up
	})
}
