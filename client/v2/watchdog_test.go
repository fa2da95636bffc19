package client

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// watchedGuard returns a guard of an attempt on a healthy endpoint that
// only has a header deadline, and the context its cut cancels.
func watchedGuard(bound time.Duration) (*guard, context.Context) {
	ctx, cancel := context.WithCancelCause(context.Background())
	g := &guard{ep: &endpoint{raw: "http://" + bound.String(), h: new(health)}, bound: bound}
	g.start, g.cancel = time.Now(), cancel
	return g, ctx
}

func TestWatchdogCutsEachAttemptAtItsOwnDeadline(t *testing.T) {
	var w watchdog
	bounds := []time.Duration{60 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	ctxs := make([]context.Context, len(bounds))
	for i, b := range bounds {
		g, ctx := watchedGuard(b)
		d, ok := g.nextCheck()
		w.add(g, d, ok)
		t.Cleanup(func() { w.remove(g) })
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

func TestWatchdogNeverChecksARemovedAttempt(t *testing.T) {
	var w watchdog
	removed, removedCtx := watchedGuard(10 * time.Millisecond)
	d, ok := removed.nextCheck()
	w.add(removed, d, ok)
	w.remove(removed)

	// A later attempt keeps the timer running past the removed one's
	// deadline.
	later, laterCtx := watchedGuard(50 * time.Millisecond)
	d, ok = later.nextCheck()
	w.add(later, d, ok)
	defer w.remove(later)
	select {
	case <-laterCtx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the later attempt was not cut within 10s")
	}
	if err := removedCtx.Err(); err != nil {
		t.Errorf("removed attempt's context ended with %v (cause %v), want it untouched", err, context.Cause(removedCtx))
	}
}

func TestWatchdogCutsAnAttemptWhoseEndpointGoesDown(t *testing.T) {
	var w watchdog
	ctx, cancel := context.WithCancelCause(context.Background())
	g := &guard{ep: &endpoint{raw: "http://down", h: new(health)}, health: true}
	g.start, g.cancel, g.recovered = time.Now(), cancel, new(atomic.Uint64)
	d, ok := g.nextCheck()
	w.add(g, d, ok)
	defer w.remove(g)
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

func TestWatchdogStopsAFarTimerWhenIdle(t *testing.T) {
	var w watchdog
	g, _ := watchedGuard(time.Hour)
	d, ok := g.nextCheck()
	w.add(g, d, ok)
	w.remove(g)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed.IsZero() {
		t.Errorf("timer still armed for %v after the last attempt ended, want it stopped", w.armed)
	}
}
