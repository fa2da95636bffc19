package client

import (
	"testing"
	"time"
)

func TestReadBoundIsAtLeastOneSecondAndFollowsSlowReads(t *testing.T) {
	var c httpClusterClient
	bound := func() time.Duration { return c.lat.Bound(minReadBound, readBoundFactor) }
	if got := bound(); got != minReadBound {
		t.Fatalf("bound with no samples = %v, want %v", got, minReadBound)
	}
	for range 200 {
		c.lat.Observe(2 * time.Millisecond)
	}
	if got := bound(); got != minReadBound {
		t.Fatalf("bound after fast reads = %v, want %v", got, minReadBound)
	}
	for range 200 {
		c.lat.Observe(500 * time.Millisecond)
	}
	if got, want := bound(), readBoundFactor*500*time.Millisecond; got < want || got > want+10*time.Millisecond {
		t.Fatalf("bound after 500ms reads = %v, want %v", got, want)
	}
}

func TestProberEndsWhenTheClientIsIdle(t *testing.T) {
	cl, _ := newClient(t, shared.ClientURLs(), Config{})
	if _, err := NewKeysAPI(cl).Get(testCtx(t), "/", nil); err != nil {
		t.Fatal(err)
	}
	c := impl(cl)
	if !c.prober.loop.IsRunning() {
		t.Fatal("no prober runs right after a call")
	}
	deadline := time.Now().Add(probeLinger + 2*(probeTimeout+probeInterval) + time.Second)
	for c.prober.loop.IsRunning() {
		if time.Now().After(deadline) {
			t.Fatal("the prober still runs long after the last call")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, ep := range c.state.Load().eps {
		if ep.h.IsDown() || ep.h.Latency.Load() == 0 {
			t.Fatalf("endpoint %s: down %v, latency %v; want healthy and measured", ep.raw, ep.h.IsDown(), time.Duration(ep.h.Latency.Load()))
		}
	}
}
