package robustness

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// checkLocks checks the holders of every lock and election of h. A holder
// that never let go held until its session was seen lost, or else until
// runEnd. Two holders of one resource never hold it at once, unless the
// earlier one's session was known lost by the time the later one acquired
// ("lock/double-holder"); and the fence lets no holder's write land after a
// newer holder's ("lock/fencing"). Violations come in a deterministic order.
func checkLocks(h History, runEnd time.Duration) []Violation {
	var out []Violation
	for _, holders := range locksByResource(mergeRetakes(h.Locks)) {
		out = append(out, checkLockRevsUnique(holders)...)
		out = append(out, checkFencedWriteOrder(holders)...)
		out = append(out, checkDoubleHolders(holders, runEnd)...)
	}
	return out
}

// mergeRetakes makes one holding of a holder's records that share a
// revision: when its Unlock fails, its key stays, and its next Lock on the
// same session finds the key and holds on from the same revision; it never
// let go in between.
func mergeRetakes(locks []LockRecord) []LockRecord {
	type holding struct {
		res    lockResource
		worker int
		rev    int64
	}
	index := map[holding]int{}
	var out []LockRecord
	for _, l := range locks {
		k := holding{lockResource{l.Name, l.Election}, l.Worker, l.Rev}
		i, ok := index[k]
		if !ok {
			index[k] = len(out)
			out = append(out, l)
			continue
		}
		m := &out[i]
		m.Released = l.Released
		m.Writes = append(m.Writes, l.Writes...)
		if m.LostAt == 0 {
			m.LostAt = l.LostAt
		}
	}
	return out
}

// lockResource identifies what holders contend for: a lock and an election
// of the same name are different resources.
type lockResource struct {
	name     string
	election bool
}

// locksByResource groups locks by resource, in the order each resource was
// first held.
func locksByResource(locks []LockRecord) [][]LockRecord {
	return groupBy(locks, func(l LockRecord) lockResource { return lockResource{l.Name, l.Election} })
}

// checkLockRevsUnique reports holders sharing a revision: the fence tells
// holders apart by revision, so two with one revision are not fenced off
// from each other.
func checkLockRevsUnique(holders []LockRecord) []Violation {
	var out []Violation
	first := map[int64]int{}
	for i, l := range holders {
		j, ok := first[l.Rev]
		if !ok {
			first[l.Rev] = i
			continue
		}
		out = append(out, violation("lock/fencing", "%s and %s have the same revision",
			describeLock(holders[j]), describeLock(l)))
	}
	return out
}

// lockWrite is an applied fenced write and the holder that made it.
type lockWrite struct {
	rev    int64
	holder *LockRecord
}

// checkFencedWriteOrder reports fenced writes applied after a write of a
// newer holder: once a newer holder's write is in, an older holder's fence
// must fail.
func checkFencedWriteOrder(holders []LockRecord) []Violation {
	var out []Violation
	var newest *lockWrite
	for _, w := range fencedWrites(holders) {
		if newest != nil && w.holder.Rev < newest.holder.Rev {
			out = append(out, violation("lock/fencing", "%s wrote at revision %d, after %s wrote at revision %d",
				describeLock(*w.holder), w.rev, describeLock(*newest.holder), newest.rev))
			continue
		}
		newest = &w
	}
	return out
}

// fencedWrites returns the applied fenced writes of holders by revision.
// Ties, which one key's writes cannot have, are put in holder order so as
// not to be reported as out of order.
func fencedWrites(holders []LockRecord) []lockWrite {
	var writes []lockWrite
	for i := range holders {
		for _, rev := range holders[i].Writes {
			writes = append(writes, lockWrite{rev, &holders[i]})
		}
	}
	slices.SortFunc(writes, func(a, b lockWrite) int {
		return cmp.Or(cmp.Compare(a.rev, b.rev), cmp.Compare(a.holder.Rev, b.holder.Rev))
	})
	return writes
}

// checkDoubleHolders reports each pair of holders whose holdings overlap
// without the excuse of the earlier one's lost session.
func checkDoubleHolders(holders []LockRecord, runEnd time.Duration) []Violation {
	byAcquired := slices.Clone(holders)
	slices.SortStableFunc(byAcquired, func(a, b LockRecord) int {
		return cmp.Or(cmp.Compare(a.Acquired, b.Acquired), cmp.Compare(a.Rev, b.Rev))
	})
	var out []Violation
	for i, a := range byAcquired {
		end := holdEnd(a, runEnd)
		// Sorted by acquisition, the holders that overlap a follow it.
		for _, b := range byAcquired[i+1:] {
			if b.Acquired >= end {
				break
			}
			if holdEnd(b, runEnd) > b.Acquired && !lostBefore(a, b) {
				out = append(out, violation("lock/double-holder", "%s and %s both held it from %v to %v",
					describeLock(a), describeLock(b), b.Acquired, min(end, holdEnd(b, runEnd))))
			}
		}
	}
	return out
}

// holdEnd is when l stopped holding: when it let go, else when its session
// was seen lost, else at the end of the run.
func holdEnd(l LockRecord, runEnd time.Duration) time.Duration {
	switch {
	case l.Released != 0:
		return l.Released
	case l.LostAt != 0:
		return l.LostAt
	}
	return runEnd
}

// lostBefore reports whether earlier's session was known lost by the time
// later acquired: etcd gave the lock away with the lease, and earlier, told
// so, was no longer entitled to it.
func lostBefore(earlier, later LockRecord) bool {
	return earlier.LostAt != 0 && earlier.LostAt <= later.Acquired
}

func describeLock(l LockRecord) string {
	kind := "lock"
	if l.Election {
		kind = "election"
	}
	d := fmt.Sprintf("worker %d's hold of %s %q at revision %d (acquired %v", l.Worker, kind, l.Name, l.Rev, l.Acquired)
	if l.Released != 0 {
		d += fmt.Sprintf(", released %v", l.Released)
	}
	if l.LostAt != 0 {
		d += fmt.Sprintf(", lost %v", l.LostAt)
	}
	return d + ")"
}
