package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The bench starts this binary again to hold its clusters and to write
	// what the watchers watch.
	if code, ok := childMain(); ok {
		os.Exit(code)
	}
	goleak.VerifyTestMain(m)
}

// tinyConfig runs every workload once with counts small enough for CI: the
// point is that the instrument works, not the numbers.
func tinyConfig(t *testing.T) config {
	return config{
		rounds: 1, phase: 50 * time.Millisecond, maxOps: 20,
		deleteKeys:  40,
		watchEvents: 200, fanoutPuts: 5,
		leaseTTL: 3, keepAlive: 1500 * time.Millisecond, // one keep-alive round of any cadence
		v2Events: 30,
		members:  []int{1}, phaseLimit: 30 * time.Second,
		profileDir: t.TempDir(),
		log:        t.Logf,
	}
}

// notImplemented matches what an unfinished etcdkit client answers; such a
// workload is reported as n/a, which is what the bench must do with it.
var notImplemented = regexp.MustCompile(`(?i)not implemented`)

// runTiny runs cfg's workloads (a tiny configuration, within 3 minutes)
// and returns the results, and each of them by workload and client.
func runTiny(t *testing.T, cfg *config) (results []Result, got map[string]map[string]*Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	results, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got = make(map[string]map[string]*Result)
	for i := range results {
		r := &results[i]
		if got[r.Workload] == nil {
			got[r.Workload] = make(map[string]*Result)
		}
		got[r.Workload][r.Client] = r
	}
	return results, got
}

func TestEveryWorkloadRunsForEveryClient(t *testing.T) {
	cfg := tinyConfig(t)
	results, got := runTiny(t, &cfg)
	for _, w := range allWorkloads() {
		for _, client := range []string{clientEtcdkit, clientOfficial, clientRaw} {
			r := got[w.name][client]
			switch {
			case r == nil:
				t.Errorf("%s: no result for %s", w.name, client)
			case !r.ok() && (client != clientEtcdkit || !notImplemented.MatchString(r.Err)):
				t.Errorf("%s with %s failed: %s", w.name, client, r.Err)
			case r.ok() && (r.Rounds != 1 || r.OpsPerSec <= 0 || r.CPUus <= 0 || r.Allocs <= 0):
				t.Errorf("%s with %s: implausible result %+v", w.name, client, *r)
			case r.ok() && r.Unit == "op" && (r.P50us <= 0 || r.P99us < r.P50us):
				t.Errorf("%s with %s: latencies p50 %v µs, p99 %v µs", w.name, client, r.P50us, r.P99us)
			}
		}
	}

	for _, client := range []string{clientOfficial, clientRaw} {
		profiles, _ := filepath.Glob(filepath.Join(cfg.profileDir, "*-"+client+".pprof"))
		if want := len(allWorkloads()); len(profiles) != want {
			t.Errorf("got %d profiles of %s, want one per workload (%d)", len(profiles), client, want)
		}
	}

	checkReport(t, &cfg, results)
}

// checkReport renders the results every way the command does.
func checkReport(t *testing.T, cfg *config, results []Result) {
	rep := newReport("test", cfg, describeMachine(), results)
	var md bytes.Buffer
	rep.writeMarkdown(&md)
	for _, want := range []string{"--unsafe-no-fsync", "| workload | client |", "**etcdkit ÷ official**", "#### Targets"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown report lacks %q:\n%s", want, md.String())
		}
	}

	line := rep.summaryLine()
	if !regexp.MustCompile(`^bench summary:( [a-z0-9-]+@\dm=(\d+\.\d\d|n/a)/(\d+\.\d\d|n/a))+$`).MatchString(line) {
		t.Errorf("summary line %q is not `bench summary: <workload>=<cpu ratio>/<allocs ratio> …`", line)
	}

	path := filepath.Join(t.TempDir(), "results.json")
	if err := rep.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("the JSON file does not decode: %v", err)
	}
	back, err := readReport(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != len(results) || back.summaryLine() != rep.summaryLine() {
		t.Errorf("the JSON file renders another report: %d results, summary %q; want %d, %q",
			len(back.Results), back.summaryLine(), len(results), rep.summaryLine())
	}

	readme := filepath.Join(t.TempDir(), "README.md")
	before := "# x\n\n## Performance\n\n" + readmeBegin + "\nold table\n" + readmeEnd + "\n\n## Next\n"
	if err := os.WriteFile(readme, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rep.updateReadme(readme, "RESULTS.md"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(readme)
	if strings.Contains(string(after), "old table") || !strings.Contains(string(after), line) ||
		!strings.Contains(string(after), "[RESULTS.md](RESULTS.md)") ||
		!strings.HasSuffix(string(after), readmeEnd+"\n\n## Next\n") {
		t.Errorf("README section not replaced:\n%s", after)
	}
}
