package prober

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// StepFunc starts the probes that are due at now, each with probes.Go and
// under ctx (which ends when the loop is stopped), and returns when it
// wants to run next. A Poke runs it sooner.
type StepFunc func(ctx context.Context, now time.Time, probes *sync.WaitGroup) (next time.Time)

// Loop runs a StepFunc while its client is in use: while a call it was
// told of (Begin) has not ended (End), and for Linger after. Its goroutine
// starts with the first use after an idle spell, and ends, once its probes
// have returned, after Linger without use. The zero value does nothing
// until Start. It is safe for concurrent use.
type Loop struct {
	// Linger is how long the loop goes on after the client was last in
	// use. Set it before Start.
	Linger time.Duration
	// Ended, if set before Start, is called each time the loop's goroutine
	// ends, after the last of its probes returned.
	Ended func()

	active  atomic.Int64  // calls in flight
	uses    atomic.Uint64 // calls begun
	running atomic.Bool

	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}

	mu      sync.Mutex
	step    StepFunc
	stopped bool
	runs    sync.WaitGroup
}

// loops counts the loops running in the process, for tests that wait for
// a client that has no Close to go quiet.
var loops atomic.Int64

// Running returns how many loops are running in the process.
func Running() int64 { return loops.Load() }

func (l *Loop) init() {
	l.once.Do(func() {
		l.ctx, l.cancel = context.WithCancel(context.Background())
		l.wake = make(chan struct{}, 1)
	})
}

// Start sets the loop's step; from then on the client's use runs it.
// Start after Stop does nothing.
func (l *Loop) Start(step StepFunc) {
	l.init()
	l.mu.Lock()
	l.step = step
	l.mu.Unlock()
	if l.active.Load() > 0 {
		l.start()
	}
}

// Begin records that a call began, and starts the loop if it is not
// running. The caller must call End when the call ends. A running loop
// costs Begin two atomic additions and a load.
func (l *Loop) Begin() {
	l.active.Add(1)
	l.uses.Add(1)
	if !l.running.Load() {
		l.start()
	}
}

// End records that a call begun with Begin ended.
func (l *Loop) End() { l.active.Add(-1) }

// Poke runs the step again now, if the loop is running.
func (l *Loop) Poke() {
	l.init()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// IsRunning reports whether the loop's goroutine is running.
func (l *Loop) IsRunning() bool { return l.running.Load() }

// Halt ends the loop for good without waiting: its probes' context ends,
// and no use starts it again. It may be called from a callback that the
// probes themselves may be waiting for.
func (l *Loop) Halt() {
	l.init()
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.cancel()
}

// Stop is Halt, then waits until the loop's goroutine and its probes have
// returned.
func (l *Loop) Stop() {
	l.Halt()
	l.runs.Wait()
}

func (l *Loop) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.step == nil || l.stopped || !l.running.CompareAndSwap(false, true) {
		return
	}
	l.runs.Add(1)
	loops.Add(1)
	go l.run(l.step)
}

func (l *Loop) run(step StepFunc) {
	defer l.runs.Done()
	defer loops.Add(-1)
	var probes sync.WaitGroup
	defer func() {
		probes.Wait()
		if l.Ended != nil {
			l.Ended()
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastUses, lastBusy := l.uses.Load(), time.Now()
	for {
		next := step(l.ctx, time.Now(), &probes)
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-l.wake:
		case <-l.ctx.Done():
			l.running.Store(false)
			return
		}
		uses := l.uses.Load()
		if l.active.Load() > 0 || uses != lastUses {
			lastUses, lastBusy = uses, time.Now()
			continue
		}
		if time.Since(lastBusy) < l.Linger {
			continue
		}
		l.running.Store(false)
		// A call that began after the check above may have found the loop
		// running and not started one: take over again.
		if (l.active.Load() > 0 || l.uses.Load() != lastUses) && l.running.CompareAndSwap(false, true) {
			lastBusy = time.Now()
			continue
		}
		return
	}
}
