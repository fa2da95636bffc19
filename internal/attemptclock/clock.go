package attemptclock

import (
	"sync"
	"time"
)

// Checker is an attempt's check. Check runs when the check is due, on the
// timer's goroutine with the Clock's lock held, so it must neither block
// nor call the Clock; it returns how long until the next check, or false
// for none.
type Checker interface {
	Check() (next time.Duration, again bool)
}

// Entry is the Clock's record of one attempt: embed it in the attempt's
// own record, which then costs no allocation of its own. Its fields are
// the Clock's, guarded by its lock. The zero value is ready for Add.
type Entry struct {
	prev, next *Entry
	due        time.Time // zero: no check due
	check      Checker
	linked     bool
}

// Clock is the timer shared by a client's attempts. The zero value is
// ready for use.
type Clock struct {
	// Slack is the least time between two firings, fixed before first
	// use: a check then runs up to Slack late, and a clock over many
	// attempts fires no more often than that. Zero runs each check when
	// it is due.
	Slack time.Duration

	mu    sync.Mutex
	head  *Entry
	timer *time.Timer
	// armed is when the timer fires next; zero when it is not armed.
	armed time.Time
}

// Add watches e, which must not be watched already, with c's check due at
// due, or never if due is zero. The caller has the time already (it is
// when its attempt began); the clock reads it only when its timer must
// move, which few attempts need.
func (k *Clock) Add(e *Entry, c Checker, due time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e.check, e.due, e.linked = c, due, true
	e.prev, e.next = nil, k.head
	if k.head != nil {
		k.head.prev = e
	}
	k.head = e
	if !due.IsZero() && (k.armed.IsZero() || due.Before(k.armed)) {
		k.arm(due, time.Now())
	}
}

// Remove stops watching e. Once it returns no check of e runs, and e may
// be added again.
func (k *Clock) Remove(e *Entry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !e.linked {
		return
	}
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		k.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	}
	e.prev, e.next, e.check, e.linked = nil, nil, nil, false
	// The timer stays armed: firing for nothing once is cheaper than
	// stopping and re-arming it for every attempt. But a timer armed far
	// ahead would keep an idle client reachable until then, so it is
	// stopped once nothing is watched.
	if k.head == nil && !k.armed.IsZero() && time.Until(k.armed) > idleTimerHorizon {
		k.timer.Stop()
		k.armed = time.Time{}
	}
}

// idleTimerHorizon is how far ahead the timer may stay armed when no
// attempt is watched.
const idleTimerHorizon = time.Second

// arm makes the timer fire at at (or Slack after now, if later), unless it
// fires sooner already. The caller holds k.mu.
func (k *Clock) arm(at, now time.Time) {
	if earliest := now.Add(k.Slack); at.Before(earliest) {
		at = earliest
	}
	if !k.armed.IsZero() && !at.Before(k.armed) {
		return
	}
	k.armed = at
	if k.timer == nil {
		k.timer = time.AfterFunc(at.Sub(now), k.fire)
		return
	}
	k.timer.Reset(at.Sub(now))
}

// fire runs every check that is due and arms the timer for the next one.
func (k *Clock) fire() {
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.armed = time.Time{}
	var next time.Time
	for e := k.head; e != nil; e = e.next {
		if e.due.IsZero() {
			continue
		}
		if !e.due.After(now) {
			e.due = time.Time{}
			if d, again := e.check.Check(); again {
				e.due = now.Add(d)
			}
		}
		if !e.due.IsZero() && (next.IsZero() || e.due.Before(next)) {
			next = e.due
		}
	}
	if !next.IsZero() {
		k.arm(next, now)
	}
}
