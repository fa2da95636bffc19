package robustness

// checkSerializable checks serializable reads, which may be stale but not
// wrong: a worker's read never goes back before the revision of any earlier
// request of the same worker (its requests are sequential, and h.Ops is in
// call order), and what a read returned was written by some write of the
// history that may have been applied, at the revision that write returned
// when it is known.
func checkSerializable(h History) []Violation {
	writes := map[string]*Operation{}
	for i := range h.Ops {
		if o := &h.Ops[i]; writesValue(o.Req) {
			writes[o.Req.Value] = o
		}
	}
	var vs []Violation
	// latest holds, for each worker, its earlier successful request of the
	// highest revision.
	latest := map[int]*Operation{}
	for i := range h.Ops {
		o := &h.Ops[i]
		if o.Err != "" {
			continue
		}
		if o.Req.Kind == Get && o.Req.Serializable {
			if prev, ok := latest[o.Worker]; ok && o.Res.Revision < prev.Res.Revision {
				vs = append(vs, violation("serializable/monotonic",
					"worker %d read %s at revision %d (called at %v) after the worker's own %s at revision %d (%s of %s, returned at %v)",
					o.Worker, o.Req.Key, o.Res.Revision, o.Call, readOrWrite(prev), prev.Res.Revision, prev.Req.Kind, prev.Req.Key, prev.Return))
			}
			if v, ok := checkSerializableValue(o, writes); !ok {
				vs = append(vs, v)
			}
		}
		if prev, ok := latest[o.Worker]; !ok || o.Res.Revision > prev.Res.Revision {
			latest[o.Worker] = o
		}
	}
	return vs
}

func readOrWrite(o *Operation) string {
	if o.Req.Kind == Get {
		return "read"
	}
	return "write"
}

// checkSerializableValue checks that the value the serializable read o
// returned was written by a write that may have been applied, at the
// revision it returned when it is known.
func checkSerializableValue(o *Operation, writes map[string]*Operation) (Violation, bool) {
	if !o.Res.Found {
		return Violation{}, true
	}
	w, ok := writes[o.Res.Value]
	switch {
	case !ok || w.Req.Key != o.Req.Key:
		return violation("serializable/matches-history",
			"worker %d read %s=%s (mod %d), which no write of that key wrote", o.Worker, o.Req.Key, o.Res.Value, o.Res.ModRev), false
	case w.Unknown:
		// It may have been applied, at any revision.
	case w.Err != "":
		return violation("serializable/matches-history",
			"worker %d read %s=%s (mod %d), the value of a write the server refused: %s",
			o.Worker, o.Req.Key, o.Res.Value, o.Res.ModRev, describeWatchOp(w)), false
	case w.Req.Kind == Txn && !w.Res.Succeeded:
		return violation("serializable/matches-history",
			"worker %d read %s=%s (mod %d), the value of a transaction that failed its comparison: %s",
			o.Worker, o.Req.Key, o.Res.Value, o.Res.ModRev, describeWatchOp(w)), false
	case w.Res.Revision != o.Res.ModRev:
		return violation("serializable/matches-history",
			"worker %d read %s=%s at mod revision %d; the write returned revision %d", o.Worker, o.Req.Key, o.Res.Value, o.Res.ModRev, w.Res.Revision), false
	}
	return Violation{}, true
}
