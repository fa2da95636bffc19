package robustness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// A Report is one subject's result of a run: what it did, how available it
// was, and every guarantee it broke.
type Report struct {
	Client   string
	Seed     int64
	Duration time.Duration
	Faults   []Injection

	// Ops counts the key-value and lease requests; Failed those that
	// returned an error, of which Unknown were writes of unknown outcome.
	Ops, Failed, Unknown int
	// LongestStall is the longest time no request of the subject
	// succeeded, while the workload ran.
	LongestStall time.Duration
	// KeepAlivesLost counts leases whose keep-alive ended on its own.
	KeepAlivesLost int
	// Watches counts watches; Events the events they delivered.
	Watches, Events int
	// LockHolds counts lock and election holdings; FencedWrites the
	// writes made through their fences.
	LockHolds, FencedWrites int

	Linearizability LinearizabilityResult
	Violations      []Violation
	// HistoryFile is where the history was written, when it was.
	HistoryFile string
}

// OK reports whether the subject broke no guarantee and the
// linearizability check reached a verdict.
func (r *Report) OK() bool {
	return len(r.Violations) == 0 && r.Linearizability.Verdict == porcupine.Ok
}

func (r *subjectRun) report(cfg Config, faults []Injection, window workload) *Report {
	h := r.rec.history()
	markStoppedLeases(&h, r.stopped)
	rep := &Report{Client: r.name, Seed: cfg.Seed, Duration: cfg.Duration, Faults: faults, KeepAlivesLost: len(h.KeepAlivesLost)}
	rep.count(h, window)
	dir := ""
	if cfg.Dir != "" {
		dir = filepath.Join(cfg.Dir, fmt.Sprintf("%s-seed%d", r.name, cfg.Seed))
		os.MkdirAll(dir, 0o755)
	}
	lin, err := checkLinearizable(h, cfg.CheckTimeout, dir)
	rep.Linearizability = lin
	if err != nil {
		rep.Violations = append(rep.Violations, violation("linearizability", "%v", err))
	}
	switch lin.Verdict {
	case porcupine.Illegal:
		rep.Violations = append(rep.Violations, violation("linearizability", "the history is not linearizable; see %s", lin.Visualization))
	case porcupine.Unknown:
		rep.Violations = append(rep.Violations, violation("linearizability", "the check timed out after %v", cfg.CheckTimeout))
	}
	rep.Violations = append(rep.Violations, checkRevisionOrder(h)...)
	rep.Violations = append(rep.Violations, checkSerializable(h)...)
	rep.Violations = append(rep.Violations, checkWatches(h)...)
	rep.Violations = append(rep.Violations, checkLocks(h, window.to)...)
	if dir != "" && len(rep.Violations) > 0 {
		rep.HistoryFile = filepath.Join(dir, "history.json")
		if b, err := json.Marshal(h); err == nil {
			os.WriteFile(rep.HistoryFile, b, 0o644)
		}
	}
	return rep
}

// markStoppedLeases makes every put attached to a lease whose keep-alive
// stopped before the run's end an expiring one: from then on it may expire.
func markStoppedLeases(h *History, stopped map[int64]bool) {
	for i := range h.Ops {
		if o := &h.Ops[i]; o.Req.Kind == Put && stopped[o.Req.Lease] {
			o.Req.Expiring = true
		}
	}
}

// count takes the figures of the requests called while the workload ran
// (not the final reads): how many failed, and the longest time within the
// window in which none succeeded.
func (r *Report) count(h History, window workload) {
	var ok []time.Duration
	for _, o := range h.Ops {
		if o.Call < window.from || o.Call >= window.to {
			continue
		}
		r.Ops++
		if o.Err != "" {
			r.Failed++
			if o.Unknown {
				r.Unknown++
			}
		} else if o.Return <= window.to {
			ok = append(ok, o.Return)
		}
	}
	slices.Sort(ok)
	prev := window.from
	for _, t := range append(ok, window.to) {
		r.LongestStall = max(r.LongestStall, t-prev)
		prev = t
	}
	r.Watches = len(h.Watches)
	for _, w := range h.Watches {
		for _, resp := range w.Responses {
			r.Events += len(resp.Events)
		}
	}
	r.LockHolds = len(h.Locks)
	for _, l := range h.Locks {
		r.FencedWrites += len(l.Writes)
	}
}

// String prints the report for people: the figures, then each violation.
func (r *Report) String() string {
	var b strings.Builder
	verdict := "OK"
	if !r.OK() {
		verdict = fmt.Sprintf("%d VIOLATIONS", len(r.Violations))
	}
	fmt.Fprintf(&b, "%s seed %d, %v, %d faults: %s\n", r.Client, r.Seed, r.Duration, len(r.Faults), verdict)
	fmt.Fprintf(&b, "  ops %d, failed %d (unknown outcome %d), longest stall %v, keep-alives lost %d\n",
		r.Ops, r.Failed, r.Unknown, r.LongestStall.Round(time.Millisecond), r.KeepAlivesLost)
	l := r.Linearizability
	fmt.Fprintf(&b, "  linearizability %s (%d ops checked, %d unknown resolved by watch, %d never applied)\n",
		l.Verdict, l.Checked, l.Patched, l.Dropped)
	fmt.Fprintf(&b, "  watches %d, events %d; lock holds %d, fenced writes %d\n", r.Watches, r.Events, r.LockHolds, r.FencedWrites)
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "  VIOLATION %s\n", v)
	}
	if r.HistoryFile != "" {
		fmt.Fprintf(&b, "  history: %s\n", r.HistoryFile)
	}
	return b.String()
}
