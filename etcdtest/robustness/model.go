package robustness

import (
	"fmt"
	"hash/maphash"
	"strconv"

	"github.com/anishathalye/porcupine"
)

// keyState is the model's view of one key. Keys are independent in the model
// (each write of a run touches one key and each lease is attached to one key
// only), so a history is checked one key at a time.
type keyState struct {
	Exists bool
	Value  string
	// ModRev is the revision of the key's last change, a put or a delete;
	// zero when it is not known, after a write of unknown outcome.
	ModRev int64
	// Floor bounds an unknown ModRev from below: the change came after it.
	Floor int64
	// Lease is the lease the key is attached to; Expiring is set when
	// nobody keeps that lease alive, so the key may vanish at any time.
	Lease    int64
	Expiring bool
}

// outcome is what the model is told an operation returned.
type outcome struct {
	Res     Result
	Unknown bool // the write may or may not have been applied
}

// last is the revision every later change of the key must exceed.
func (s keyState) last() int64 {
	if s.ModRev != 0 {
		return s.ModRev
	}
	return s.Floor
}

// after reports whether rev can be the revision of a change made after s.
func (s keyState) after(rev int64) bool { return rev > s.last() }

// seenBy reports whether a read at header revision rev can have seen s.
func (s keyState) seenBy(rev int64) bool {
	if s.ModRev != 0 {
		return rev >= s.ModRev
	}
	return rev > s.Floor
}

func (s keyState) deleted(rev int64) keyState {
	if rev == 0 {
		return keyState{Floor: s.last()}
	}
	return keyState{ModRev: rev}
}

func (s keyState) put(req Request, rev int64) keyState {
	n := keyState{Exists: true, Value: req.Value, ModRev: rev, Lease: req.Lease, Expiring: req.Lease != 0 && req.Expiring}
	if rev == 0 {
		n.Floor = s.last()
	}
	return n
}

// step returns every state the key can be in after the operation, given the
// state before it; none when the operation could not have returned what it
// did. A key bound to an expiring lease may have vanished before any step.
func step(s keyState, req Request, out outcome) []keyState {
	next := stepFrom(s, req, out)
	if s.Exists && s.Expiring {
		next = append(next, stepFrom(s.deleted(0), req, out)...)
	}
	return next
}

func stepFrom(s keyState, req Request, out outcome) []keyState {
	switch req.Kind {
	case Get:
		return read(s, out.Res)
	case Put:
		return write(s, out, func() []keyState { return []keyState{s.put(req, out.Res.Revision)} })
	case Delete:
		return deleteKey(s, out)
	case Txn:
		return txn(s, req, out)
	case Revoke:
		return revoke(s, req, out)
	}
	return nil
}

// write applies a write whose effect is made by apply: a write of unknown
// outcome may not have happened; a known one has a revision after s.
func write(s keyState, out outcome, apply func() []keyState) []keyState {
	if out.Unknown {
		return append(apply(), s)
	}
	if !s.after(out.Res.Revision) {
		return nil
	}
	return apply()
}

// read checks what a linearizable read of the key returned against s, and
// learns the key's revision when s did not know it.
func read(s keyState, r Result) []keyState {
	if r.Found != s.Exists {
		return nil
	}
	if !r.Found {
		if !s.seenBy(r.Revision) {
			return nil
		}
		return []keyState{s}
	}
	if r.Value != s.Value || r.Revision < r.ModRev {
		return nil
	}
	if s.ModRev == 0 {
		if r.ModRev <= s.Floor {
			return nil
		}
		s.ModRev, s.Floor = r.ModRev, 0
	}
	if r.ModRev != s.ModRev {
		return nil
	}
	return []keyState{s}
}

func deleteKey(s keyState, out outcome) []keyState {
	if out.Unknown {
		if s.Exists {
			return []keyState{s, s.deleted(0)}
		}
		return []keyState{s}
	}
	if out.Res.Deleted == 0 {
		if s.Exists || !s.seenBy(out.Res.Revision) {
			return nil
		}
		return []keyState{s}
	}
	if !s.Exists || !s.after(out.Res.Revision) {
		return nil
	}
	return []keyState{s.deleted(out.Res.Revision)}
}

// txn models If(ModRevision(key) == ExpectRev or Value(key) == Expect)
// Then(Put(key, Value)) Else(Get(key)). Etcd compares a missing key's
// modification revision as 0 and never matches its value.
func txn(s keyState, req Request, out outcome) []keyState {
	var next []keyState
	for _, c := range conditions(s, req) {
		switch {
		case out.Unknown && c.holds:
			next = append(next, c.s.put(req, 0))
		case out.Unknown:
			next = append(next, c.s)
		case out.Res.Succeeded && c.holds && c.s.after(out.Res.Revision):
			next = append(next, c.s.put(req, out.Res.Revision))
		case !out.Res.Succeeded && !c.holds:
			next = append(next, read(c.s, out.Res)...)
		}
	}
	if out.Unknown {
		next = append(next, s)
	}
	return next
}

type condition struct {
	s     keyState
	holds bool
}

// conditions returns the ways the txn's comparison can go from s: when the
// key's revision is unknown, a revision comparison may hold (and then
// teaches the revision) or not.
func conditions(s keyState, req Request) []condition {
	if req.CompareValue {
		return []condition{{s, s.Exists && s.Value == req.Expect}}
	}
	if !s.Exists {
		return []condition{{s, req.ExpectRev == 0}}
	}
	if s.ModRev != 0 {
		return []condition{{s, s.ModRev == req.ExpectRev}}
	}
	if req.ExpectRev <= s.Floor {
		return []condition{{s, false}}
	}
	learned := s
	learned.ModRev, learned.Floor = req.ExpectRev, 0
	return []condition{{learned, true}, {s, false}}
}

func revoke(s keyState, req Request, out outcome) []keyState {
	attached := s.Exists && s.Lease == req.Lease
	switch {
	case out.Unknown && attached:
		return []keyState{s, s.deleted(0)}
	case out.Unknown:
		return []keyState{s}
	case out.Res.LeaseNotFound:
		// A lease still attached to a live key exists; only an expiring
		// one may be gone, and step tries that case separately.
		if attached {
			return nil
		}
		return []keyState{s}
	case attached:
		if !s.after(out.Res.Revision) {
			return nil
		}
		return []keyState{s.deleted(out.Res.Revision)}
	}
	return []keyState{s}
}

// kvModel returns the porcupine model of a run's key space, which began at
// revision startRev with no key of the run.
func kvModel(startRev int64) porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: partitionByKey,
		Init:      func() []any { return []any{keyState{ModRev: startRev}} },
		Step: func(state, input, output any) []any {
			next := step(state.(keyState), input.(Request), output.(outcome))
			states := make([]any, len(next))
			for i, n := range next {
				states[i] = n
			}
			return states
		},
		Hash:              hashState,
		DescribeOperation: describeOperation,
		DescribeState:     describeState,
	}
	return nm.ToModel()
}

func partitionByKey(ops []porcupine.Operation) [][]porcupine.Operation {
	return groupBy(ops, func(op porcupine.Operation) string { return op.Input.(Request).Key })
}

// groupBy groups items by key, groups in the order of their first item and
// items in their order.
func groupBy[T any, K comparable](items []T, key func(T) K) [][]T {
	index := map[K]int{}
	var groups [][]T
	for _, it := range items {
		k := key(it)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], it)
	}
	return groups
}

// hashState hashes a state for porcupine's cache, on its hottest path.
func hashState(state any) uint64 { return maphash.Comparable(stateSeed, state.(keyState)) }

var stateSeed = maphash.MakeSeed()

func describeOperation(input, output any) string {
	req, out := input.(Request), output.(outcome)
	var call string
	switch req.Kind {
	case Get, Delete:
		call = fmt.Sprintf("%s(%s)", req.Kind, req.Key)
	case Put:
		call = fmt.Sprintf("put(%s, %s, lease %x)", req.Key, req.Value, req.Lease)
	case Txn:
		cmp := "mod_rev==" + strconv.FormatInt(req.ExpectRev, 10)
		if req.CompareValue {
			cmp = "value==" + req.Expect
		}
		call = fmt.Sprintf("txn(%s: if %s then put %s else get)", req.Key, cmp, req.Value)
	case Revoke:
		call = fmt.Sprintf("revoke(%x on %s)", req.Lease, req.Key)
	}
	if out.Unknown {
		return call + " -> unknown"
	}
	r := out.Res
	switch {
	case req.Kind == Revoke && r.LeaseNotFound:
		return call + " -> lease not found"
	case req.Kind == Get || (req.Kind == Txn && !r.Succeeded):
		if !r.Found {
			return fmt.Sprintf("%s -> none @%d", call, r.Revision)
		}
		return fmt.Sprintf("%s -> %s mod %d @%d", call, r.Value, r.ModRev, r.Revision)
	case req.Kind == Delete:
		return fmt.Sprintf("%s -> deleted %d @%d", call, r.Deleted, r.Revision)
	}
	return fmt.Sprintf("%s -> ok @%d", call, r.Revision)
}

func describeState(state any) string {
	s := state.(keyState)
	rev := strconv.FormatInt(s.ModRev, 10)
	if s.ModRev == 0 {
		rev = ">" + strconv.FormatInt(s.Floor, 10)
	}
	if !s.Exists {
		return "none, changed at " + rev
	}
	d := fmt.Sprintf("%s mod %s", s.Value, rev)
	if s.Lease != 0 {
		d += fmt.Sprintf(" lease %x", s.Lease)
		if s.Expiring {
			d += " (expiring)"
		}
	}
	return d
}
