package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFaultScenarioRunsForEveryClient runs one fault scenario briefly for
// both clients: the point is that the instrument works (the scenario
// strikes the member serving the watch, measures, heals, and the table
// renders), not the figures.
func TestFaultScenarioRunsForEveryClient(t *testing.T) {
	ft := faultTiming{warm: 500 * time.Millisecond, hold: 1500 * time.Millisecond, after: time.Second,
		opTimeout: 3 * time.Second, log: t.Logf}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results := runFaults(ctx, ft, regexp.MustCompile(`^stop-follower$`), nil)
	if len(results) != len(faultFactories) {
		t.Fatalf("%d results, want one per client (%d)", len(results), len(faultFactories))
	}
	for _, r := range results {
		if r.Err != "" {
			t.Errorf("%s: %s", r.Client, r.Err)
			continue
		}
		if r.Reads == 0 || r.Writes == 0 {
			t.Errorf("%s: %d reads and %d writes after the fault; want both loops running", r.Client, r.Reads, r.Writes)
		}
		if r.WatchLost != 0 || r.WatchDup != 0 {
			t.Errorf("%s: watch lost %d and repeated %d events; want none", r.Client, r.WatchLost, r.WatchDup)
		}
		if r.Client == clientEtcdkit && r.ReadFailures != 0 {
			t.Errorf("etcdkit: %d failed reads with a stopped follower; want none", r.ReadFailures)
		}
	}
	var b bytes.Buffer
	writeFaultMarkdown(&b, ft, describeMachine(), results)
	if !strings.Contains(b.String(), "| follower stopped (SIGSTOP), then continued | etcdkit |") {
		t.Errorf("table lacks the etcdkit row:\n%s", b.String())
	}
}
