package robustness

import (
	"context"
	"fmt"
	"math/rand"
	"time"
)

// sessionTTL is the lease TTL of a locker's session, in seconds: long enough
// that one member's fault never costs a session whose client keeps it alive.
const sessionTTL = 10

// A locker repeatedly takes a lock (or wins an election), writes through a
// fence on its holder's revision while it holds it, and lets it go.
type locker struct {
	id       int
	cli      Client
	rec      *recorder
	rng      *rand.Rand
	name     string // the lock's key prefix
	resource string // the key the holders write
	election bool
}

func (l *locker) run(ctx context.Context) {
	for ctx.Err() == nil {
		lk, err := l.cli.NewLocker(ctx, l.name, sessionTTL, l.election)
		if err != nil {
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		for ctx.Err() == nil && !closed(lk.Lost()) {
			l.hold(ctx, lk)
			sleep(ctx, time.Duration(l.rng.Intn(100))*time.Millisecond)
		}
		lk.Close()
	}
}

// hold takes the lock once and records the holding.
func (l *locker) hold(ctx context.Context, lk Locker) {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	rev, err := lk.Lock(lctx, fmt.Sprintf("locker-%d", l.id))
	cancel()
	if err != nil {
		return
	}
	r := LockRecord{Worker: l.id, Name: l.name, Election: l.election, Rev: rev, Acquired: l.rec.now()}
	for i := range 1 + l.rng.Intn(3) {
		wctx, cancel := context.WithTimeout(ctx, opTimeout)
		applied, wrev, err := lk.FencedPut(wctx, l.resource, fmt.Sprintf("locker-%d-%d-%d", l.id, rev, i))
		cancel()
		if err == nil && applied {
			r.Writes = append(r.Writes, wrev)
		}
		if closed(lk.Lost()) && r.LostAt == 0 {
			r.LostAt = l.rec.now()
		}
		sleep(ctx, time.Duration(l.rng.Intn(50))*time.Millisecond)
	}
	if closed(lk.Lost()) && r.LostAt == 0 {
		r.LostAt = l.rec.now()
	}
	r.Released = l.rec.now()
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	lk.Unlock(uctx)
	cancel()
	l.rec.lock(r)
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
