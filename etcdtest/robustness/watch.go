package robustness

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// watchReportLimit bounds the violations reported per watch and guarantee,
// so that a broken run reports a few examples and a count, not every event.
const watchReportLimit = 5

// checkWatches checks every watch of h against etcd's watch guarantees and
// against the writes of h.Ops. It needs no cluster and is deterministic: the
// same history gives the same violations in the same order. The events any
// watch delivered, united, stand for the key space's history: a watch is
// judged against what the others saw as well as against the writes known to
// have been applied.
func checkWatches(h History) []Violation {
	r := newWatchReporter(h.Watches)
	ref := buildWatchReference(h.Watches, r)
	checkWatchEventsMatchHistory(ref, indexWatchOps(h.Ops), r)
	unseen := writesNoWatchSaw(h.Ops, ref)
	for i := range h.Watches {
		// One watch at a time: a run's watches together hold millions of
		// events, too many to index all at once.
		v := newWatchView(i, h.Watches[i])
		checkWatchOrdered(v, r)
		checkWatchUnique(v, r)
		checkWatchAtomic(v, r)
		checkWatchBookmarks(v, r)
		checkWatchCompaction(v, r)
		checkWatchRequested(v, r)
		checkWatchGaps(v, ref, r)
		checkWatchUnseenWrites(v, unseen, r)
	}
	return r.violations()
}

// watchEventID identifies an event across watches. Each write of a run
// changes one key, but the checker does not rely on it: a revision may
// carry events on several keys.
type watchEventID struct {
	rev int64
	key string
}

func watchEventIDOf(e Event) watchEventID { return watchEventID{e.ModRev, e.Key} }

func compareWatchEventIDs(a, b watchEventID) int {
	if c := cmp.Compare(a.rev, b.rev); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// watchReference is the union of the events of every watch: the key space's
// history as far as any watch saw it.
type watchReference struct {
	events map[watchEventID]watchRefEvent
	sorted []watchEventID            // by revision, then key
	byKey  map[string][]watchEventID // sorted too
}

type watchRefEvent struct {
	Event
	watch int // the first watch that delivered it, answerable for it
}

// buildWatchReference unites the events of ws, reporting the watches that
// disagree with an earlier one on an event ("watch/consistent").
func buildWatchReference(ws []WatchRecord, r *watchReporter) watchReference {
	ref := watchReference{events: map[watchEventID]watchRefEvent{}, byKey: map[string][]watchEventID{}}
	for i, w := range ws {
		for _, resp := range w.Responses {
			for _, e := range resp.Events {
				ref.add(i, e, r)
			}
		}
	}
	slices.SortFunc(ref.sorted, compareWatchEventIDs)
	for _, id := range ref.sorted {
		ref.byKey[id.key] = append(ref.byKey[id.key], id)
	}
	return ref
}

func (ref *watchReference) add(watch int, e Event, r *watchReporter) {
	id := watchEventIDOf(e)
	first, ok := ref.events[id]
	if !ok {
		ref.events[id] = watchRefEvent{e, watch}
		ref.sorted = append(ref.sorted, id)
		return
	}
	// A watch repeating its own event is a matter for watch/unique.
	if first.watch != watch && (first.Delete != e.Delete || first.Value != e.Value) {
		r.report(watch, "watch/consistent", "delivered %s, but watch %d delivered %s",
			describeWatchEvent(e), first.watch, describeWatchEvent(first.Event))
	}
}

// candidates returns, by revision, the events req may have to deliver.
func (ref watchReference) candidates(req WatchRequest) []watchEventID {
	if req.Prefix {
		return ref.sorted
	}
	return ref.byKey[req.Key]
}

func watchMatches(req WatchRequest, key string) bool {
	if req.Prefix {
		return strings.HasPrefix(key, req.Key)
	}
	return key == req.Key
}

// watchView is one watch's delivery, flattened into events.
type watchView struct {
	index  int
	rec    WatchRecord
	events []watchDelivery
	seen   map[watchEventID]bool
	// [start, complete] are the revisions whose every event the watch has
	// promised to have delivered; start is 0 when it promised nothing.
	start, complete int64
	// first is the revision of the first event delivered; MaxInt64 if none.
	first int64
}

type watchDelivery struct {
	Event
	resp  int  // index of the response that carried it
	again bool // it had been delivered before
}

func newWatchView(index int, w WatchRecord) *watchView {
	n := 0
	for _, resp := range w.Responses {
		n += len(resp.Events)
	}
	v := &watchView{
		index: index, rec: w, first: math.MaxInt64,
		events: make([]watchDelivery, 0, n), seen: make(map[watchEventID]bool, n),
	}
	for i, resp := range w.Responses {
		if resp.Progress {
			v.complete = max(v.complete, resp.Revision)
		}
		for _, e := range resp.Events {
			v.deliver(e, i)
		}
	}
	v.start = watchStart(w)
	if len(v.events) > 0 {
		v.first = v.events[0].ModRev
	}
	return v
}

func (v *watchView) deliver(e Event, resp int) {
	id := watchEventIDOf(e)
	v.events = append(v.events, watchDelivery{e, resp, v.seen[id]})
	v.seen[id] = true
	v.complete = max(v.complete, e.ModRev)
}

// watchStart returns the revision from which w promised every event: the
// one it asked for or, watching from now on, the one its first event or
// progress notification revealed; 0 when it revealed none.
func watchStart(w WatchRecord) int64 {
	if w.Req.Revision > 0 {
		return w.Req.Revision
	}
	for _, resp := range w.Responses {
		switch {
		case len(resp.Events) > 0:
			return resp.Events[0].ModRev
		case resp.Progress:
			return resp.Revision + 1
		}
	}
	return 0
}

// checkWatchOrdered reports events delivered after an event of a later revision
// ("watch/ordered").
func checkWatchOrdered(v *watchView, r *watchReporter) {
	var last int64
	for _, e := range v.events {
		if e.ModRev < last {
			r.report(v.index, "watch/ordered", "delivered %s (response %d) after an event at revision %d",
				describeWatchEvent(e.Event), e.resp, last)
		}
		last = max(last, e.ModRev)
	}
}

// checkWatchUnique reports events delivered more than once ("watch/unique").
func checkWatchUnique(v *watchView, r *watchReporter) {
	for _, e := range v.events {
		if e.again {
			r.report(v.index, "watch/unique", "delivered %s again (response %d)", describeWatchEvent(e.Event), e.resp)
		}
	}
}

// checkWatchAtomic reports revisions whose events were split across responses
// ("watch/atomic"): a revision is one transaction, and a watcher must see
// all of it at once. Repeated events are left to checkWatchUnique.
func checkWatchAtomic(v *watchView, r *watchReporter) {
	respOf := map[int64]int{}
	for _, e := range v.events {
		if e.again {
			continue
		}
		first, ok := respOf[e.ModRev]
		if ok && first != e.resp {
			r.report(v.index, "watch/atomic", "split revision %d across responses %d and %d (%s in the latter)",
				e.ModRev, first, e.resp, describeWatchEvent(e.Event))
		}
		// Follow the latest response so a split is reported once per part.
		respOf[e.ModRev] = e.resp
	}
}

// checkWatchBookmarks reports progress notifications that break their promise
// ("watch/bookmarkable"): a notification at revision P says every event up
// to P has been delivered, so P never goes back, never falls below an event
// already delivered, and no event up to P follows it.
func checkWatchBookmarks(v *watchView, r *watchReporter) {
	var lastEvent int64
	var mark int64 = -1 // no notification yet
	for i, resp := range v.rec.Responses {
		for _, e := range resp.Events {
			if e.ModRev <= mark {
				r.report(v.index, "watch/bookmarkable", "delivered %s (response %d) after a progress notification at revision %d",
					describeWatchEvent(e), i, mark)
			}
			lastEvent = max(lastEvent, e.ModRev)
		}
		if !resp.Progress {
			continue
		}
		if resp.Revision < mark {
			r.report(v.index, "watch/bookmarkable", "sent a progress notification at revision %d (response %d) after one at revision %d",
				resp.Revision, i, mark)
		}
		if resp.Revision < lastEvent {
			r.report(v.index, "watch/bookmarkable", "sent a progress notification at revision %d (response %d) after an event at revision %d",
				resp.Revision, i, lastEvent)
		}
		mark = max(mark, resp.Revision)
	}
}

// checkWatchCompaction reports watches canceled as compacted although the
// revision they had to go on from was still there ("watch/compaction").
func checkWatchCompaction(v *watchView, r *watchReporter) {
	next := v.rec.Req.Revision
	for i, resp := range v.rec.Responses {
		if resp.CompactRevision > 0 && next >= resp.CompactRevision {
			r.report(v.index, "watch/compaction", "was canceled as compacted at revision %d (response %d), but it needed revision %d on",
				resp.CompactRevision, i, next)
		}
		for _, e := range resp.Events {
			next = max(next, e.ModRev+1)
		}
		if resp.Progress {
			// Every revision up to resp.Revision was shown complete.
			next = max(next, resp.Revision+1)
		}
	}
}

// checkWatchRequested reports events the watch did not ask for: on another key,
// or before the revision it asked to start from ("watch/reliable").
func checkWatchRequested(v *watchView, r *watchReporter) {
	for _, e := range v.events {
		switch {
		case !watchMatches(v.rec.Req, e.Key):
			r.report(v.index, "watch/reliable", "delivered %s, which its key filter excludes", describeWatchEvent(e.Event))
		case e.ModRev < v.rec.Req.Revision:
			r.report(v.index, "watch/reliable", "delivered %s, before the revision it asked to start from", describeWatchEvent(e.Event))
		}
	}
}

// checkWatchGaps reports the events of its keys that other watches saw in the
// revisions the watch promised complete but that it did not deliver
// ("watch/reliable"), or, when it asked for a past revision and they come
// before its first event, did not replay ("watch/resumable").
func checkWatchGaps(v *watchView, ref watchReference, r *watchReporter) {
	if v.start == 0 {
		return
	}
	ids := ref.candidates(v.rec.Req)
	from := sort.Search(len(ids), func(i int) bool { return ids[i].rev >= v.start })
	for _, id := range ids[from:] {
		if id.rev > v.complete {
			break
		}
		if v.seen[id] || !watchMatches(v.rec.Req, id.key) {
			continue
		}
		missed := ref.events[id]
		r.report(v.index, v.gapGuarantee(id.rev), "missed %s, which watch %d delivered, within revisions [%d, %d] it showed complete",
			describeWatchEvent(missed.Event), missed.watch, v.start, v.complete)
	}
}

func (v *watchView) gapGuarantee(rev int64) string {
	if v.rec.Req.Revision > 0 && rev < v.first {
		return "watch/resumable"
	}
	return "watch/reliable"
}

// watchKnownWrite is a write known to have changed id.key at revision id.rev.
type watchKnownWrite struct {
	id watchEventID
	op *Operation
}

// writesNoWatchSaw returns, by revision, the writes known to have changed a
// key for which no watch delivered an event. Writes some watch saw need no
// check of their own: checkWatchGaps holds every watch to them.
func writesNoWatchSaw(ops []Operation, ref watchReference) []watchKnownWrite {
	var unseen []watchKnownWrite
	for i := range ops {
		id, ok := definiteWatchChange(&ops[i])
		if !ok {
			continue
		}
		if _, seen := ref.events[id]; !seen {
			unseen = append(unseen, watchKnownWrite{id, &ops[i]})
		}
	}
	slices.SortFunc(unseen, func(a, b watchKnownWrite) int { return compareWatchEventIDs(a.id, b.id) })
	return unseen
}

// definiteWatchChange returns the key and revision o is known to have changed.
func definiteWatchChange(o *Operation) (watchEventID, bool) {
	if o.Unknown || o.Err != "" || o.Res.Revision <= 0 {
		return watchEventID{}, false
	}
	changed := o.Req.Kind == Put ||
		(o.Req.Kind == Txn && o.Res.Succeeded) ||
		(o.Req.Kind == Delete && o.Res.Deleted > 0)
	return watchEventID{o.Res.Revision, o.Req.Key}, changed
}

// checkWatchUnseenWrites reports the unseen writes of the watch's keys within
// the revisions it promised complete ("watch/reliable").
func checkWatchUnseenWrites(v *watchView, unseen []watchKnownWrite, r *watchReporter) {
	if v.start == 0 {
		return
	}
	from := sort.Search(len(unseen), func(i int) bool { return unseen[i].id.rev >= v.start })
	for _, w := range unseen[from:] {
		if w.id.rev > v.complete {
			break
		}
		if watchMatches(v.rec.Req, w.id.key) {
			r.report(v.index, "watch/reliable", "missed %s within revisions [%d, %d] it showed complete (no watch delivered it)",
				describeWatchOp(w.op), v.start, v.complete)
		}
	}
}

// watchOpsIndex indexes the operations that can explain watch events.
type watchOpsIndex struct {
	// writes holds puts and transactions by key and value: values are
	// unique, so an event's value names the one write that made it.
	writes map[watchKeyValue]*Operation
	// deletes holds the deletes known to have deleted, and the revokes known
	// to have been applied, by the revision they returned and their key.
	deletes map[watchEventID]bool
	// changes holds, by key and in revision order, the changes operations
	// are known to have made (definiteWatchChange).
	changes map[string][]watchKnownWrite
	// mayDelete holds the keys that a delete or revoke of unknown outcome
	// may have deleted, at any revision after its call.
	mayDelete map[string]bool
	// mayLease holds the keys that a lease-bound put of unknown outcome may
	// have bound to a lease at a revision nobody knows.
	mayLease map[string]bool
}

type watchKeyValue struct{ key, value string }

func indexWatchOps(ops []Operation) watchOpsIndex {
	x := watchOpsIndex{
		writes: map[watchKeyValue]*Operation{}, deletes: map[watchEventID]bool{},
		changes: map[string][]watchKnownWrite{}, mayDelete: map[string]bool{}, mayLease: map[string]bool{},
	}
	for i := range ops {
		o := &ops[i]
		if id, ok := definiteWatchChange(o); ok {
			x.changes[id.key] = append(x.changes[id.key], watchKnownWrite{id, o})
		}
		switch o.Req.Kind {
		case Put, Txn:
			kv := watchKeyValue{o.Req.Key, o.Req.Value}
			if _, dup := x.writes[kv]; !dup {
				x.writes[kv] = o
			}
			if o.Unknown && leaseBound(o) {
				x.mayLease[o.Req.Key] = true
			}
		case Delete, Revoke:
			switch {
			case o.Unknown:
				x.mayDelete[o.Req.Key] = true
			case o.Err != "" || o.Res.Revision <= 0:
				// Refused, or a revoke of a lease that was gone.
			case o.Req.Kind == Revoke || o.Res.Deleted > 0:
				x.deletes[watchEventID{o.Res.Revision, o.Req.Key}] = true
			}
		}
	}
	for _, cs := range x.changes {
		slices.SortFunc(cs, func(a, b watchKnownWrite) int { return cmp.Compare(a.id.rev, b.id.rev) })
	}
	return x
}

// leaseBound reports whether o puts a key bound to a lease, which the
// lease's expiry or revoke deletes.
func leaseBound(o *Operation) bool { return o.Req.Kind == Put && o.Req.Lease != 0 }

// checkWatchEventsMatchHistory reports events that no operation of the history
// explains ("watch/matches-history"). Each distinct event is checked once,
// against the watch that first delivered it; the others are held to that
// one by watch/consistent.
func checkWatchEventsMatchHistory(ref watchReference, ops watchOpsIndex, r *watchReporter) {
	for _, id := range ref.sorted {
		e := ref.events[id]
		if why := ops.unexplained(ref, e.Event); why != "" {
			r.report(e.watch, "watch/matches-history", "delivered %s, but %s", describeWatchEvent(e.Event), why)
		}
	}
}

// unexplained says why no operation explains e; it is empty when one does.
func (x watchOpsIndex) unexplained(ref watchReference, e Event) string {
	if e.Delete {
		return x.unexplainedDelete(ref, e)
	}
	o, ok := x.writes[watchKeyValue{e.Key, e.Value}]
	switch {
	case !ok:
		return "no put or transaction wrote that value to that key"
	case o.Unknown:
		return ""
	case o.Err != "":
		return describeWatchOp(o) + " is a write the server refused"
	case o.Req.Kind == Txn && !o.Res.Succeeded:
		return describeWatchOp(o) + " failed its comparison"
	case o.Res.Revision != e.ModRev:
		return describeWatchOp(o) + " was applied at another revision"
	}
	return ""
}

// unexplainedDelete says why nothing explains the delete event e: a delete
// or a revoke that returned its revision, a delete or revoke of unknown
// outcome, or the expiry or revoke of the lease of the put it deletes.
func (x watchOpsIndex) unexplainedDelete(ref watchReference, e Event) string {
	if x.deletes[watchEventIDOf(e)] || x.mayDelete[e.Key] {
		return ""
	}
	put, isPut := x.lastChangeBefore(ref, e.Key, e.ModRev)
	switch {
	case isPut && put != nil && leaseBound(put):
		return ""
	case isPut && put != nil:
		return "the put it deletes, " + describeWatchOp(put) +
			", was bound to no lease, and no delete or revoke of that key returned that revision"
	case !isPut && x.mayLease[e.Key]:
		// The put it deletes is not known: one bound to a lease, of
		// unknown outcome, may have been applied unseen.
		return ""
	}
	return "no delete, revoke or lease expiry of that key can have happened at that revision"
}

// lastChangeBefore returns the last change to key before revision rev that
// a watch delivered or an operation is known to have made, and whether it
// was a put; for a put, it returns the write that made it (nil when no
// operation wrote its value).
func (x watchOpsIndex) lastChangeBefore(ref watchReference, key string, rev int64) (put *Operation, isPut bool) {
	var last int64 = -1
	events := ref.byKey[key]
	if i := sort.Search(len(events), func(i int) bool { return events[i].rev >= rev }); i > 0 {
		e := ref.events[events[i-1]]
		last, isPut = e.ModRev, !e.Delete
		if isPut {
			put = x.writes[watchKeyValue{key, e.Value}]
		}
	}
	changes := x.changes[key]
	if i := sort.Search(len(changes), func(i int) bool { return changes[i].id.rev >= rev }); i > 0 && changes[i-1].id.rev > last {
		o := changes[i-1].op
		put, isPut = nil, o.Req.Kind != Delete
		if isPut {
			put = o
		}
	}
	return put, isPut
}

// watchReporter collects violations, at most watchReportLimit per watch and
// guarantee, and counts the rest.
type watchReporter struct {
	names  []string
	counts map[watchReportKey]int
	order  []watchReportKey // in the order first reported
	out    []Violation
}

type watchReportKey struct {
	watch     int
	guarantee string
}

func newWatchReporter(ws []WatchRecord) *watchReporter {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = describeWatch(i, w)
	}
	return &watchReporter{names: names, counts: map[watchReportKey]int{}}
}

func (r *watchReporter) report(watch int, guarantee, format string, args ...any) {
	k := watchReportKey{watch, guarantee}
	r.counts[k]++
	switch n := r.counts[k]; {
	case n == 1:
		r.order = append(r.order, k)
	case n > watchReportLimit:
		return
	}
	r.out = append(r.out, violation(guarantee, "%s %s", r.names[watch], fmt.Sprintf(format, args...)))
}

// violations returns what was reported, then a count of what was not.
func (r *watchReporter) violations() []Violation {
	out := r.out
	for _, k := range r.order {
		if n := r.counts[k] - watchReportLimit; n > 0 {
			out = append(out, violation(k.guarantee, "%s: %d more violations not shown", r.names[k.watch], n))
		}
	}
	return out
}

func describeWatch(i int, w WatchRecord) string {
	what := fmt.Sprintf("key %q", w.Req.Key)
	if w.Req.Prefix {
		what = fmt.Sprintf("prefix %q", w.Req.Key)
	}
	from := "from now on"
	if w.Req.Revision > 0 {
		from = fmt.Sprintf("from revision %d", w.Req.Revision)
	}
	return fmt.Sprintf("watch %d (worker %d, %s %s)", i, w.Worker, what, from)
}

func describeWatchEvent(e Event) string {
	if e.Delete {
		return fmt.Sprintf("delete %q @%d", e.Key, e.ModRev)
	}
	return fmt.Sprintf("put %q=%q @%d", e.Key, e.Value, e.ModRev)
}

func describeWatchOp(o *Operation) string {
	d := fmt.Sprintf("worker %d's %s of %q", o.Worker, o.Req.Kind, o.Req.Key)
	if o.Req.Kind == Put || o.Req.Kind == Txn {
		d += fmt.Sprintf("=%q", o.Req.Value)
	}
	d += fmt.Sprintf(" called at %v", o.Call)
	switch {
	case o.Unknown:
		return d + " (outcome unknown)"
	case o.Err != "":
		return d + " (failed: " + o.Err + ")"
	}
	return fmt.Sprintf("%s (revision %d)", d, o.Res.Revision)
}
