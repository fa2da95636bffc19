package robustness

import (
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
)

// A LinearizabilityResult is porcupine's verdict on a history.
type LinearizabilityResult struct {
	// Verdict is porcupine.Ok, Illegal or Unknown (the check timed out).
	Verdict porcupine.CheckResult
	// Checked counts the operations given to porcupine; Patched those of
	// unknown outcome whose revision a watch revealed, Dropped those a
	// complete watch showed were never applied.
	Checked, Patched, Dropped int
	// Visualization is the HTML file written when the verdict is not Ok.
	Visualization string
}

// checkLinearizable checks the history's linearizable operations against
// the key-space model, writing porcupine's visualization into dir (when not
// empty) if they are not linearizable.
func checkLinearizable(h History, timeout time.Duration, dir string) (LinearizabilityResult, error) {
	ops, res := porcupineOps(h)
	model := kvModel(h.StartRev)
	verdict, info := porcupine.CheckOperationsVerbose(model, ops, timeout)
	res.Verdict = verdict
	if verdict != porcupine.Ok && dir != "" {
		res.Visualization = filepath.Join(dir, "linearizability.html")
		if err := porcupine.VisualizePath(model, info, res.Visualization); err != nil {
			return res, fmt.Errorf("robustness: writing the visualization: %w", err)
		}
	}
	return res, nil
}

// porcupineOps turns the history into porcupine operations: failed reads
// and grants are left out (they change nothing), as are serializable reads
// (checked apart); a write that failed is of unknown outcome and stays
// pending to the end of time. A watch that saw every revision of the run
// tells whether, and at which revision, such a write was applied.
func porcupineOps(h History) ([]porcupine.Operation, LinearizabilityResult) {
	applied, complete := appliedWrites(h)
	var res LinearizabilityResult
	ops := make([]porcupine.Operation, 0, len(h.Ops))
	for _, o := range h.Ops {
		if o.Req.Kind == Grant || (o.Req.Kind == Get && o.Req.Serializable) || (o.Err != "" && !o.Unknown) {
			continue
		}
		out := outcome{Res: o.Res, Unknown: o.Unknown}
		ret := int64(o.Return)
		if o.Unknown {
			ret = math.MaxInt64
			if rev, ok := applied[o.Req.Value]; ok && writesValue(o.Req) {
				out = outcome{Res: Result{Revision: rev, Succeeded: true}}
				res.Patched++
			} else if complete && writesValue(o.Req) {
				res.Dropped++
				continue
			}
		}
		ops = append(ops, porcupine.Operation{
			ClientId: o.Worker, Input: o.Req, Output: out,
			Call: int64(o.Call), Return: ret,
		})
	}
	res.Checked = len(ops)
	return ops, res
}

func writesValue(r Request) bool { return r.Kind == Put || r.Kind == Txn }

// appliedWrites maps each value a watch of the whole key space saw written
// to the revision it was written at, and reports whether some such watch saw
// every revision up to the last any operation returned.
func appliedWrites(h History) (map[string]int64, bool) {
	applied := map[string]int64{}
	var seen int64
	for _, w := range h.Watches {
		if !w.Req.Prefix || w.Req.Key != h.Prefix || w.Req.Revision == 0 || w.Req.Revision > h.StartRev+1 {
			continue
		}
		for _, r := range w.Responses {
			upTo, live := completeTo(r)
			if !live {
				break
			}
			for _, e := range r.Events {
				if !e.Delete {
					applied[e.Value] = e.ModRev
				}
			}
			seen = max(seen, upTo)
		}
	}
	var lastRev int64
	for _, o := range h.Ops {
		lastRev = max(lastRev, o.Res.Revision)
	}
	return applied, seen > 0 && seen >= lastRev
}
