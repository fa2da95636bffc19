package client

import (
	"sync"
	"time"
)

// watchdog runs the checks of a client's attempts in flight (see guard) on
// one timer, instead of one timer per attempt. Almost every attempt ends long
// before its first check is due, so what an attempt costs is two short
// critical sections; the timer is re-armed only when an attempt needs a check
// sooner than any attempt already waiting, and it fires about every
// checkInterval while attempts are in flight.
//
// The timer's function runs in a goroutine of its own only when it fires, so
// an idle client holds no goroutine.
type watchdog struct {
	mu sync.Mutex
	// head is the list of guards being watched, linked through their
	// prev and next fields.
	head  *guard
	timer *time.Timer
	// armed is when the timer fires next; zero when it is not armed.
	armed time.Time
}

// add watches g, whose first check is due after d, or never if !ok. The
// guard's fields that check reads must be set before.
func (w *watchdog) add(g *guard, d time.Duration, ok bool) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	g.due = time.Time{}
	if ok {
		g.due = now.Add(d)
	}
	g.prev, g.next = nil, w.head
	if w.head != nil {
		w.head.prev = g
	}
	w.head = g
	if ok {
		w.arm(g.due, now)
	}
}

// remove stops watching g. Once it returns, no check of g runs.
func (w *watchdog) remove(g *guard) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if g.prev != nil {
		g.prev.next = g.next
	} else if w.head == g {
		w.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	}
	g.prev, g.next = nil, nil
	// The timer stays armed: firing for nothing once is cheaper than
	// stopping and re-arming it for every attempt. But a timer armed far
	// ahead (a long HeaderTimeoutPerRequest) would keep an idle client
	// reachable until then, so it is stopped once nothing is watched.
	if w.head == nil && !w.armed.IsZero() && time.Until(w.armed) > idleTimerHorizon {
		w.timer.Stop()
		w.armed = time.Time{}
	}
}

// idleTimerHorizon is how far ahead the watchdog's timer may stay armed
// when no attempt is in flight.
const idleTimerHorizon = time.Second

// arm makes the timer fire at at, unless it fires sooner already. The
// caller holds w.mu.
func (w *watchdog) arm(at, now time.Time) {
	if !w.armed.IsZero() && !at.Before(w.armed) {
		return
	}
	w.armed = at
	if w.timer == nil {
		w.timer = time.AfterFunc(at.Sub(now), w.fire)
		return
	}
	w.timer.Reset(at.Sub(now))
}

// fire checks every guard whose check is due and arms the timer for the
// next one.
func (w *watchdog) fire() {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = time.Time{}
	var next time.Time
	for g := w.head; g != nil; g = g.next {
		if g.due.IsZero() {
			continue
		}
		if !g.due.After(now) {
			g.due = time.Time{}
			if d, ok := g.check(); ok {
				g.due = now.Add(d)
			}
		}
		if !g.due.IsZero() && (next.IsZero() || g.due.Before(next)) {
			next = g.due
		}
	}
	if !next.IsZero() {
		w.arm(next, now)
	}
}
