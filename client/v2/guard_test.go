package client

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/internal/attemptclock"
)

// watchedGuard returns a guard of an attempt on a healthy endpoint that
// only has a header deadline, and the context its cut cancels.
func watchedGuard(bound time.Duration) (*guard, context.Context) {
	ctx, cancel := context.WithCancelCause(context.Background())
	g := &guard{ep: &endpoint{raw: "http://" + bound.String(), h: newRecord()}, bound: bound}
	g.start, g.cancel = time.Now(), cancel
	return g, ctx
}

func TestAGuardCutsEachAttemptAtItsOwnDeadline(t *testing.T) {
	var w attemptclock.Clock
	bounds := []time.Duration{60 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	ctxs := make([]context.Context, len(bounds))
	for i, b := range bounds {
		g, ctx := watchedGuard(b)
		w.Add(&g.clock, g, g.firstCheck())
		t.Cleanup(func() { w.Remove(&g.clock) })
		ctxs[i] = ctx
	}
	for i, ctx := range ctxs {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("attempt with a %v header deadline still running after 10s", bounds[i])
		}
		var hte *headerTimeoutError
		if cause := context.Cause(ctx); !errors.As(cause, &hte) || hte.after != bounds[i] {
			t.Errorf("attempt with a %v header deadline cut by %v, want a header timeout after %v", bounds[i], cause, bounds[i])
		}
	}
}

func TestAGuardRemovedFromTheClockNeverCutsItsAttempt(t *testing.T) {
	var w attemptclock.Clock
	removed, removedCtx := watchedGuard(10 * time.Millisecond)
	w.Add(&removed.clock, removed, removed.firstCheck())
	w.Remove(&removed.clock)

	// A later attempt keeps the timer running past the removed one's
	// deadline.
	later, laterCtx := watchedGuard(50 * time.Millisecond)
	w.Add(&later.clock, later, later.firstCheck())
	defer w.Remove(&later.clock)
	select {
	case <-laterCtx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the later attempt was not cut within 10s")
	}
	if err := removedCtx.Err(); err != nil {
		t.Errorf("removed attempt's context ended with %v (cause %v), want it untouched", err, context.Cause(removedCtx))
	}
}

func TestAGuardCutsAnAttemptWhoseEndpointGoesDown(t *testing.T) {
	var w attemptclock.Clock
	ctx, cancel := context.WithCancelCause(context.Background())
	g := &guard{ep: &endpoint{raw: "http://down", h: newRecord()}, health: true}
	g.start, g.cancel, g.recovered = time.Now(), cancel, new(atomic.Uint64)
	w.Add(&g.clock, g, g.firstCheck())
	defer w.Remove(&g.clock)
	g.ep.h.markDown()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("attempt on an endpoint gone down still running after 10s")
	}
	var ue *unhealthyError
	if cause := context.Cause(ctx); !errors.As(cause, &ue) {
		t.Errorf("attempt cut by %v, want an unhealthy endpoint error", cause)
	}
}
