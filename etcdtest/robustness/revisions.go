package robustness

import (
	"cmp"
	"slices"
)

// checkRevisionOrder checks the one order of revisions that all keys share,
// which the per-key model cannot see: an operation that starts after
// another has returned sees a revision at least as new, and a write makes
// a newer one. So a linearizable read may not return a revision older
// than one any request had already returned, on any key; nor may a write
// be given one. Only requests whose outcome is known count; serializable
// reads may be stale and are checked apart.
func checkRevisionOrder(h History) []Violation {
	var ops []Operation
	for _, o := range h.Ops {
		if o.Err == "" && !o.Unknown && o.Res.Revision > 0 && o.Req.Kind != Grant && !o.Req.Serializable {
			ops = append(ops, o)
		}
	}
	byReturn := slices.Clone(ops)
	slices.SortFunc(byReturn, func(a, b Operation) int { return cmp.Compare(a.Return, b.Return) })
	byCall := ops
	slices.SortFunc(byCall, func(a, b Operation) int { return cmp.Compare(a.Call, b.Call) })
	var vs []Violation
	var newest *Operation // of those returned before the current call
	j := 0
	for i := range byCall {
		o := &byCall[i]
		for j < len(byReturn) && byReturn[j].Return < o.Call {
			if newest == nil || byReturn[j].Res.Revision > newest.Res.Revision {
				newest = &byReturn[j]
			}
			j++
		}
		if newest == nil {
			continue
		}
		writes := o.Req.Kind == Put || (o.Req.Kind == Txn && o.Res.Succeeded) || (o.Req.Kind == Delete && o.Res.Deleted > 0)
		if o.Res.Revision < newest.Res.Revision || (writes && o.Res.Revision == newest.Res.Revision) {
			if len(vs) == maxRevisionReports {
				vs = append(vs, violation("linearizability/revision-order", "more violations not shown"))
				break
			}
			vs = append(vs, violation("linearizability/revision-order",
				"worker %d's %s of %s (called at %v) returned revision %d, after worker %d's %s of %s had returned revision %d (at %v)",
				o.Worker, o.Req.Kind, o.Req.Key, o.Call, o.Res.Revision, newest.Worker, newest.Req.Kind, newest.Req.Key, newest.Res.Revision, newest.Return))
		}
	}
	return vs
}

const maxRevisionReports = 20
