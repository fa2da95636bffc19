package robustness

import (
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// TestEtcdkitIsNeverWrongUnderFaults runs etcdkit's client under the
// nemesis for three fixed seeds of 12 s each on a 3-member cluster and
// expects no broken guarantee. The seeds are chosen so that every fault is
// drawn at least once (seed 2: leader isolated, compaction, blackhole; 15:
// kill, leader kill, SIGSTOP; 21: delay, rolling restart, isolation). The
// long runs (tools/robustness) use more seeds, both cluster sizes and both
// server versions.
func TestEtcdkitIsNeverWrongUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster under faults for 30 s")
	}
	c := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	for _, seed := range []int64{2, 15, 21} {
		cfg := Config{Seed: seed, Duration: 12 * time.Second, Dir: t.TempDir()}
		reports, err := Run(t.Context(), c, cfg, Subject{Name: "etcdkit", New: Etcdkit})
		if err != nil {
			t.Fatal(err)
		}
		r := reports[0]
		t.Log(r)
		for _, f := range r.Faults {
			t.Log("  fault", f)
		}
		if !r.OK() {
			t.Errorf("seed %d: etcdkit broke %d guarantees (see the report above)", seed, len(r.Violations))
		}
		if r.Ops == 0 || r.Events == 0 || r.LockHolds == 0 {
			t.Errorf("seed %d: the workload did not run: %d ops, %d watch events, %d lock holds", seed, r.Ops, r.Events, r.LockHolds)
		}
	}
}
