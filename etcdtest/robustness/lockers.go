package robustness

import (
	"context"
	"fmt"
	"math/rand"
	"sync/atomic"
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
		lost := l.watchLost(lk)
		for ctx.Err() == nil && lost() == 0 {
			l.hold(ctx, lk, lost)
			sleep(ctx, time.Duration(l.rng.Intn(100))*time.Millisecond)
		}
		lk.Close()
	}
}

// watchLost returns a function that tells when lk's session was seen lost
// (0 while it is not): the time is taken as the loss is signalled, not
// when the holder next looks.
func (l *locker) watchLost(lk Locker) func() time.Duration {
	var at atomic.Int64
	go func() {
		<-lk.Lost() // closed at the latest by lk.Close
		at.Store(int64(l.rec.now()))
	}()
	return func() time.Duration { return time.Duration(at.Load()) }
}

// hold takes the lock once and records the holding. Released is when
// Unlock was called: if Unlock fails, the holding may go on, and is known
// to have gone on only if the next Lock finds the holder's key still there
// at the same revision (checkLocks joins the two records).
func (l *locker) hold(ctx context.Context, lk Locker, lost func() time.Duration) {
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
		sleep(ctx, time.Duration(l.rng.Intn(50))*time.Millisecond)
	}
	r.Released = l.rec.now()
	if at := lost(); at != 0 {
		r.LostAt = max(at, r.Acquired)
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	lk.Unlock(uctx)
	cancel()
	l.rec.lock(r)
}
