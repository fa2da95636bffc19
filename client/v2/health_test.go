package client

import (
	"testing"
	"time"
)

func TestReadBoundIsAtLeastOneSecondAndFollowsSlowReads(t *testing.T) {
	var l latencies
	if got := l.readBound(); got != minReadBound {
		t.Fatalf("bound with no samples = %v, want %v", got, minReadBound)
	}
	for range 200 {
		l.observe(2 * time.Millisecond)
	}
	if got := l.readBound(); got != minReadBound {
		t.Fatalf("bound after fast reads = %v, want %v", got, minReadBound)
	}
	for range 200 {
		l.observe(500 * time.Millisecond)
	}
	if got, want := l.readBound(), readBoundFactor*500*time.Millisecond; got != want {
		t.Fatalf("bound after 500ms reads = %v, want %v", got, want)
	}
}

func TestProberEndsWhenTheClientIsIdle(t *testing.T) {
	cl, _ := newClient(t, shared.ClientURLs(), Config{})
	if _, err := NewKeysAPI(cl).Get(testCtx(t), "/", nil); err != nil {
		t.Fatal(err)
	}
	c := impl(cl)
	if !c.prober.running.Load() {
		t.Fatal("no prober runs right after a call")
	}
	deadline := time.Now().Add(probeLinger + 2*(probeTimeout+probeInterval) + time.Second)
	for c.prober.running.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the prober still runs long after the last call")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, ep := range c.state.Load().eps {
		if ep.h.down.Load() || ep.h.latency.Load() == 0 {
			t.Fatalf("endpoint %s: down %v, latency %v; want healthy and measured", ep.raw, ep.h.down.Load(), time.Duration(ep.h.latency.Load()))
		}
	}
}
