package prober

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stepper is a StepFunc that counts its calls and the loops running it at
// once, and starts one probe per call that lasts until the loop's context
// ends or probeFor passes.
type stepper struct {
	calls, inside, most atomic.Int64
	probeFor            time.Duration
	every               time.Duration
}

func (s *stepper) step(ctx context.Context, now time.Time, probes *sync.WaitGroup) time.Time {
	n := s.inside.Add(1)
	defer s.inside.Add(-1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	s.calls.Add(1)
	if s.probeFor > 0 {
		probes.Go(func() {
			select {
			case <-ctx.Done():
			case <-time.After(s.probeFor):
			}
		})
	}
	return now.Add(s.every)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestALoopRunsOnlyWhileItsClientIsInUse(t *testing.T) {
	s := &stepper{every: time.Millisecond}
	var ended atomic.Int64
	l := &Loop{Linger: 20 * time.Millisecond, Ended: func() { ended.Add(1) }}
	l.Start(s.step)
	time.Sleep(20 * time.Millisecond)
	if s.calls.Load() != 0 || l.IsRunning() {
		t.Fatalf("before any use: %d steps, running %v; want none", s.calls.Load(), l.IsRunning())
	}
	l.Begin()
	waitFor(t, "the first use runs the step", func() bool { return s.calls.Load() > 0 })
	time.Sleep(3 * l.Linger)
	if !l.IsRunning() {
		t.Fatal("the loop ended while a call was in flight")
	}
	l.End()
	waitFor(t, "the loop ends after Linger without use", func() bool { return !l.IsRunning() && ended.Load() == 1 })
	steps := s.calls.Load()
	time.Sleep(3 * l.Linger)
	if s.calls.Load() != steps {
		t.Fatalf("%d steps ran after the loop ended", s.calls.Load()-steps)
	}
	l.Begin()
	l.End()
	waitFor(t, "a use after an idle spell runs the loop again", func() bool { return s.calls.Load() > steps })
	l.Stop()
}

func TestStartWhileACallIsInFlightRunsTheLoop(t *testing.T) {
	s := &stepper{every: time.Millisecond}
	l := &Loop{Linger: time.Millisecond}
	l.Begin()
	l.Start(s.step)
	waitFor(t, "the step runs", func() bool { return s.calls.Load() > 0 })
	l.End()
	l.Stop()
}

func TestStopEndsTheProbesAndWaitsForThemAndNothingRunsAfter(t *testing.T) {
	s := &stepper{every: time.Millisecond, probeFor: time.Hour}
	var ended atomic.Bool
	l := &Loop{Linger: time.Hour, Ended: func() { ended.Store(true) }}
	l.Start(s.step)
	l.Begin()
	waitFor(t, "the step runs", func() bool { return s.calls.Load() > 0 })
	done := make(chan struct{})
	go func() { l.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not return though the probes' context ends with it")
	}
	if !ended.Load() || l.IsRunning() {
		t.Fatalf("after Stop: Ended called %v, running %v; want called and not running", ended.Load(), l.IsRunning())
	}
	steps := s.calls.Load()
	l.Begin()
	time.Sleep(10 * time.Millisecond)
	if s.calls.Load() != steps || l.IsRunning() {
		t.Fatal("a use after Stop ran the loop again")
	}
}

func TestPokeRunsTheStepBeforeItIsDue(t *testing.T) {
	s := &stepper{every: time.Hour}
	l := &Loop{Linger: time.Hour}
	l.Start(s.step)
	l.Begin()
	waitFor(t, "the first step", func() bool { return s.calls.Load() == 1 })
	l.Poke()
	waitFor(t, "the step poked", func() bool { return s.calls.Load() == 2 })
	l.Stop()
}

func TestConcurrentUseNeverRunsTwoLoopsAtOnce(t *testing.T) {
	s := &stepper{every: 100 * time.Microsecond}
	l := &Loop{Linger: 100 * time.Microsecond}
	l.Start(s.step)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 2000 {
				l.Begin()
				if i%100 == 0 {
					time.Sleep(time.Millisecond)
				}
				l.End()
			}
		})
	}
	wg.Wait()
	l.Stop()
	if s.most.Load() != 1 {
		t.Fatalf("up to %d loops ran the step at once, want 1", s.most.Load())
	}
	if Running() != 0 {
		t.Fatalf("%d loops still counted as running after Stop", Running())
	}
}
