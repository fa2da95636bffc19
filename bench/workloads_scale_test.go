package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// tinyScale sizes the scale workloads for CI: the point is that they work
// for every client, not the numbers.
func tinyScale() *scaleConfig {
	return &scaleConfig{
		leases: 50, leaseTTL: 3, keepAlive: 1500 * time.Millisecond, // one keep-alive round of any cadence
		watches: 50, prefixes: 5, eventRate: 200, eventsFor: 250 * time.Millisecond,
		listKeys: 500, listValue: 1024, pageSize: 64,
		callers: 20, callersFor: 200 * time.Millisecond,
	}
}

func TestScaleWorkloadsRunForEveryClient(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.scale, cfg.maxOps, cfg.profileDir = tinyScale(), 0, ""
	if err := cfg.scale.check(); err != nil {
		t.Fatal(err)
	}
	results, got := runTiny(t, &cfg)
	// A Get of the whole range holds the whole reply at once.
	wholeReply := float64(cfg.scale.listKeys * cfg.scale.listValue)
	for _, w := range scaleWorkloads(cfg.scale) {
		for _, client := range clientOrder {
			r := got[w.name][client]
			if w.placed {
				// The tiny run has one member, where there is nothing to place.
				if r != nil {
					t.Errorf("%s ran on one member with %s; want it left out", w.name, client)
				}
				continue
			}
			switch {
			case r == nil:
				t.Errorf("%s: no result for %s", w.name, client)
			case !r.ok():
				t.Errorf("%s with %s failed: %s", w.name, client, r.Err)
			case r.Rounds != 1 || r.OpsPerSec <= 0 || r.CPUus <= 0 || r.Allocs <= 0:
				t.Errorf("%s with %s: implausible result %+v", w.name, client, *r)
			case r.Unit != "s" && (r.P99us <= 0 || r.P99us < r.P50us):
				t.Errorf("%s with %s: latencies p50 %v µs, p99 %v µs", w.name, client, r.P50us, r.P99us)
			}
			if r == nil || !r.ok() {
				continue
			}
			// What the client holds: every client runs goroutines for its
			// leases and watchers (its heap is read with them, but at these
			// sizes it is within the noise, 0 or even below); a read of the
			// whole range holds some of it at once, a Get all of it.
			switch {
			case strings.HasPrefix(w.name, "scale-keepalive") || strings.HasPrefix(w.name, "scale-watch-"):
				if r.Goroutines <= 0 {
					t.Errorf("%s with %s: %v goroutines; want above 0", w.name, client, r.Goroutines)
				}
			case w.name == "scale-list-get":
				if r.HeapBytes < wholeReply {
					t.Errorf("%s with %s: peak heap %v B; want at least the whole reply's %v B", w.name, client, r.HeapBytes, wholeReply)
				}
			case strings.HasPrefix(w.name, "scale-list-"):
				if r.HeapBytes <= 0 {
					t.Errorf("%s with %s: peak heap %v B; want above 0", w.name, client, r.HeapBytes)
				}
			}
		}
	}

	rep := newReport("scale", &cfg, describeMachine(), results)
	var md bytes.Buffer
	rep.writeMarkdown(&md)
	for _, want := range []string{"| heap | goroutines |", "**etcdkit ÷ official**", "scale workloads: heap is"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown report lacks %q:\n%s", want, md.String())
		}
	}
	// Issue 14 sets a target for every scale workload.
	targeted := make(map[string]bool)
	for _, tg := range rep.Targets {
		if tg.Goal == "" || tg.Status == "" {
			t.Errorf("target %+v: want a goal and a status", tg)
		}
		targeted[tg.Workload] = true
	}
	for _, w := range scaleWorkloads(cfg.scale) {
		if !targeted[w.name] && !w.placed {
			t.Errorf("%s has no target", w.name)
		}
	}
	if !strings.Contains(md.String(), "| other |") {
		t.Errorf("the targets table lacks the column of the heap and throughput figures:\n%s", md.String())
	}
}

// The scale workloads are long: the default run must not include them, and
// their common prefix selects them (-run) and keeps them out of the targets.
func TestScaleWorkloadsAreAGroupOfTheirOwn(t *testing.T) {
	def := quickConfig()
	for _, w := range def.workloads() {
		if strings.HasPrefix(w.name, "scale-") {
			t.Errorf("the default run includes %s", w.name)
		}
	}
	def.scale = tinyScale()
	ws := def.workloads()
	if len(ws) == 0 {
		t.Fatal("no scale workloads")
	}
	for _, w := range ws {
		if !strings.HasPrefix(w.name, "scale-") || w.v3 == nil {
			t.Errorf("scale workload %s: want a v3 workload named scale-*", w.name)
		}
	}
}

func TestDefaultScaleIsTheIssuesSizes(t *testing.T) {
	s := defaultScaleConfig()
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if s.leases != 10000 || s.leaseTTL != 10 || s.keepAlive != time.Minute ||
		s.watches != 10000 || s.prefixes != 100 || s.eventRate != 1000 || s.eventsFor != 20*time.Second ||
		s.listKeys != 200000 || s.listValue != 1024 || s.pageSize != 1000 || s.callers != 1000 {
		t.Errorf("default scale sizes %+v", s)
	}
	bad := s
	bad.prefixes = s.watches + 1
	if bad.check() == nil {
		t.Error("check accepts more prefixes than watchers")
	}
}

func TestGroupedWritesThousandsSeparators(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 200000: "200,000", 1234567: "1,234,567"} {
		if got := grouped(n); got != want {
			t.Errorf("grouped(%d) = %q, want %q", n, got, want)
		}
	}
}
