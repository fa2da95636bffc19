package robustness

// checkSerializable checks serializable reads, which may be stale but not
// wrong: each worker's reads never go back in revision, and what a read
// returned was written by some write of the history, at the revision that
// write returned when it is known.
func checkSerializable(h History) []Violation {
	writes := map[string]Operation{}
	for _, o := range h.Ops {
		if writesValue(o.Req) {
			writes[o.Req.Value] = o
		}
	}
	var vs []Violation
	lastRev := map[int]Operation{}
	for _, o := range h.Ops {
		if o.Req.Kind != Get || !o.Req.Serializable || o.Err != "" {
			continue
		}
		if prev, ok := lastRev[o.Worker]; ok && o.Res.Revision < prev.Res.Revision {
			vs = append(vs, violation("serializable/monotonic",
				"worker %d read %s at revision %d (called at %v) after reading %s at revision %d (returned at %v)",
				o.Worker, o.Req.Key, o.Res.Revision, o.Call, prev.Req.Key, prev.Res.Revision, prev.Return))
		}
		lastRev[o.Worker] = o
		if !o.Res.Found {
			continue
		}
		w, ok := writes[o.Res.Value]
		switch {
		case !ok || w.Req.Key != o.Req.Key:
			vs = append(vs, violation("serializable/matches-history",
				"worker %d read %s=%s (mod %d), which no write of that key wrote", o.Worker, o.Req.Key, o.Res.Value, o.Res.ModRev))
		case w.Err == "" && !w.Unknown && w.Res.Revision != o.Res.ModRev:
			vs = append(vs, violation("serializable/matches-history",
				"worker %d read %s=%s at mod revision %d; the write returned revision %d", o.Worker, o.Req.Key, o.Res.Value, o.Res.ModRev, w.Res.Revision))
		}
	}
	return vs
}
