package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFaultScenarioRunsForEveryClient runs one fault scenario briefly for
// every client of every API: the point is that the instrument works (the
// scenario strikes the member serving the watch, measures, heals, and the
// tables render), not the figures.
func TestFaultScenarioRunsForEveryClient(t *testing.T) {
	ft := faultTiming{warm: 500 * time.Millisecond, hold: 1500 * time.Millisecond, after: time.Second,
		opTimeout: 3 * time.Second, log: t.Logf}
	rep := &FaultReport{}
	// v2 first: etcdkit's v2 client probes its members until 2 s after its
	// last call (it has no Close), and the v3 run gives that goroutine time
	// to end before goleak looks.
	apis := faultAPIs()
	slices.Reverse(apis)
	for _, api := range apis {
		t.Run(api.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			results := runFaults(ctx, ft, api, regexp.MustCompile(`^stop-follower$`), nil)
			if len(results) != len(api.factories) {
				t.Fatalf("%d results, want one per client (%d)", len(results), len(api.factories))
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
			rep.merge(newFaultRun(api, ft, describeMachine(), results))
		})
	}

	// The report survives its JSON file, and renders a table per API.
	path := filepath.Join(t.TempDir(), "faults.json")
	if err := rep.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := readFaultReport(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	back.writeMarkdown(&b)
	for _, want := range []string{
		"`go run . -faults -api v3`", "`go run . -faults -api v2`", "HeaderTimeoutPerRequest: 1s",
		"| follower stopped (SIGSTOP), then continued | etcdkit |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("tables lack %q:\n%s", want, b.String())
		}
	}
}

// TestFaultReportMergeKeepsTheOtherAPIsRuns: running only v2 must leave
// the v3 table of the README as it was.
func TestFaultReportMergeKeepsTheOtherAPIsRuns(t *testing.T) {
	rep := &FaultReport{}
	rep.merge(FaultRun{API: "v2", Date: "old v2"})
	rep.merge(FaultRun{API: "v3", Date: "v3"})
	rep.merge(FaultRun{API: "v2", Date: "fast v2", ElectionTimeoutMs: 300})
	rep.merge(FaultRun{API: "v2", Date: "new v2"})
	rep.merge(FaultRun{API: "v3", Date: "fast v3", ElectionTimeoutMs: 300})
	var got []string
	for _, r := range rep.Runs {
		got = append(got, r.API+": "+r.Date)
	}
	// A run with another election timeout is kept apart, after etcd's
	// default timing's.
	if want := []string{"v3: v3", "v3: fast v3", "v2: new v2", "v2: fast v2"}; strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("runs %q, want %q", got, want)
	}
}
