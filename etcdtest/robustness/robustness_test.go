package robustness

import (
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// TestEtcdkitIsNeverWrongUnderFaults runs etcdkit's client under the
// nemesis for three fixed seeds of 14 s each on a 3-member cluster and
// expects no broken guarantee. The seeds draw every fault between them
// (20: blackhole, leader killed, leader isolated; 43: rolling restart,
// compaction, isolation; 45: SIGSTOP, delay, kill), and the test checks
// that they still do. The long runs (tools/robustness) use more seeds,
// both cluster sizes and both server versions.
func TestEtcdkitIsNeverWrongUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster under faults for 30 s")
	}
	c := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	drawn := map[Fault]bool{}
	for _, seed := range []int64{20, 43, 45} {
		cfg := Config{Seed: seed, Duration: 14 * time.Second, Dir: t.TempDir()}
		reports, err := Run(t.Context(), c, cfg, Subject{Name: "etcdkit", New: Etcdkit})
		if err != nil {
			t.Fatal(err)
		}
		r := reports[0]
		t.Log(r)
		for _, f := range r.Faults {
			t.Log("  fault", f)
			drawn[f.Fault] = true
		}
		if !r.OK() {
			t.Errorf("seed %d: etcdkit broke %d guarantees (see the report above)", seed, len(r.Violations))
		}
		if r.Linearizability.Checked < 1000 || r.Events == 0 || r.LockHolds == 0 {
			t.Errorf("seed %d: the workload hardly ran: %d requests checked, %d watch events, %d lock holds", seed, r.Linearizability.Checked, r.Events, r.LockHolds)
		}
	}
	for _, f := range Faults {
		if !drawn[f] {
			t.Errorf("fault %s was never drawn; the seeds no longer cover every fault", f)
		}
	}
}
