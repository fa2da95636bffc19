package balancer

import (
	"context"
	"sync"
	"testing"
	"time"
)

// dueProbes runs one startDueProbes of h at now and returns the endpoints
// it probed.
func dueProbes(t *testing.T, h *Health, now time.Time) map[string]bool {
	t.Helper()
	var mu sync.Mutex
	probed := map[string]bool{}
	probe := func(_ context.Context, addr string) (ProbeReport, error) {
		mu.Lock()
		probed[addr] = true
		mu.Unlock()
		return ProbeReport{}, nil
	}
	var wg sync.WaitGroup
	h.startDueProbes(context.Background(), now, probe, &wg)
	wg.Wait()
	return probed
}

func TestProbesDueSoonAfterADueOneGoWithIt(t *testing.T) {
	h := NewHealthWithTiming(Timing{ProbeInterval: 400 * time.Millisecond})
	buildPicker(h, "a", "b", "c", "d")
	now := time.Now()
	set := func(addr string, next, noProbeUntil time.Time) {
		st := h.lookup(addr)
		st.mu.Lock()
		st.nextProbe, st.noProbeUntil = next, noProbeUntil
		st.mu.Unlock()
	}
	set("a", now.Add(-time.Millisecond), time.Time{})            // due
	set("b", now.Add(90*time.Millisecond), time.Time{})          // due within a quarter interval (100 ms)
	set("c", now.Add(150*time.Millisecond), time.Time{})         // not
	set("d", now.Add(50*time.Millisecond), now.Add(time.Second)) // paused after its removal
	got := dueProbes(t, h, now)
	if !got["a"] || !got["b"] || got["c"] || got["d"] {
		t.Fatalf("probed %v; want a (due) and b (due within a quarter interval), not c (later) nor d (paused)", got)
	}

	set("a", now.Add(90*time.Millisecond), time.Time{})
	set("b", now.Add(90*time.Millisecond), time.Time{})
	set("c", now.Add(90*time.Millisecond), time.Time{})
	if got := dueProbes(t, h, now); len(got) != 0 {
		t.Fatalf("probed %v while none was due; want none sent early on its own", got)
	}
}
