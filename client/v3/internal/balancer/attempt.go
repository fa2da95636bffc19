package balancer

import (
	"context"
	"sync/atomic"
)

// Attempt records what happened to one attempt of an RPC: whether an
// endpoint was picked, which, and whether any request bytes were sent.
// The retry layer creates one per attempt and passes it in the RPC's
// context with WithAttempt; the picker fills it in.
type Attempt struct {
	picked   atomic.Bool
	done     atomic.Bool
	sent     atomic.Bool
	addr     atomic.Pointer[string]
	stream   atomic.Bool
	toLeader atomic.Bool
	leader   atomic.Bool
	avoid    atomic.Pointer[string] // see AvoidLastPick
}

// MarkForLeader records that the attempt is the leader's to answer: a
// write, or a stream of lease renewals. A follower only forwards such
// requests, one at a time, to the leader; the picker sends the attempt to
// the leader when it knows which endpoint that is, sparing the hop and any
// follower's faults. Reset keeps the mark.
func (a *Attempt) MarkForLeader() { a.toLeader.Store(true) }

// MarkStream records that the attempt opens a stream, whose duration says
// nothing about the member's latency. Reset keeps the mark.
func (a *Attempt) MarkStream() { a.stream.Store(true) }

// MarkRequireLeader records that the attempt is to carry require-leader
// metadata, so that a member without a leader refuses it at once. Reset
// keeps the mark.
func (a *Attempt) MarkRequireLeader() { a.leader.Store(true) }

// AvoidLastPick makes the later attempts of the call go to any READY
// endpoint other than the one this attempt went to, when one is not
// avoided, as WithAvoid does for a context. It records the endpoint in the
// Attempt, not in a new context, so that whatever still holds the call's
// context (a hedge, a context's cancellation) never sees it change. Reset
// keeps it.
func (a *Attempt) AvoidLastPick() {
	if p := a.addr.Load(); p != nil {
		a.avoid.Store(p)
	}
}

// RequiresLeader reports whether MarkRequireLeader was called.
func (a *Attempt) RequiresLeader() bool { return a.leader.Load() }

type attemptKey struct{}

// WithAttempt returns ctx carrying a.
func WithAttempt(ctx context.Context, a *Attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

// AttemptContext is a context carrying an Attempt, as WithAttempt makes
// one, for a caller that keeps it inside a record of its own instead of
// allocating a context per call. Set Context before use and do not change
// it while the call runs: contexts derived from it (an attempt's, a
// hedge's) read it from other goroutines.
type AttemptContext struct {
	context.Context
	Attempt Attempt
}

// Value implements context.Context.
func (c *AttemptContext) Value(key any) any {
	if key == (attemptKey{}) {
		return &c.Attempt
	}
	return c.Context.Value(key)
}

// AttemptFrom returns the Attempt in ctx, or nil.
func AttemptFrom(ctx context.Context) *Attempt {
	a, _ := ctx.Value(attemptKey{}).(*Attempt)
	return a
}

// Reset clears a for reuse by the next attempt.
func (a *Attempt) Reset() {
	a.picked.Store(false)
	a.done.Store(false)
	a.sent.Store(false)
	a.addr.Store(nil)
}

// MaybeSent reports whether the request may have reached a server. It is
// false only when no endpoint was picked, or the picked transport reported
// that no byte of the request was written.
func (a *Attempt) MaybeSent() bool {
	if !a.picked.Load() {
		return false
	}
	if !a.done.Load() {
		return true
	}
	return a.sent.Load()
}

// Addr returns the dial target the attempt was sent to, "" if none.
func (a *Attempt) Addr() string {
	if p := a.addr.Load(); p != nil {
		return *p
	}
	return ""
}

func (a *Attempt) recordPick(addr *string) {
	a.addr.Store(addr)
	a.picked.Store(true)
}

func (a *Attempt) recordDone(sent bool) {
	a.sent.Store(sent)
	a.done.Store(true)
}

// pickOpts steer the picks of one RPC. They travel in one context value,
// so that a pick looks them up once.
type pickOpts struct {
	pin   string // go only here
	avoid string // go anywhere else if possible
	probe bool
}

type pickKey struct{}

func pickOptsFrom(ctx context.Context) pickOpts {
	o, _ := ctx.Value(pickKey{}).(*pickOpts)
	if o == nil {
		return pickOpts{}
	}
	return *o
}

func withPickOpts(ctx context.Context, f func(*pickOpts)) context.Context {
	o := pickOptsFrom(ctx)
	f(&o)
	return context.WithValue(ctx, pickKey{}, &o)
}

// WithPin returns ctx whose RPCs go only to the endpoint with dial target
// addr; a pick waits until that endpoint is ready.
func WithPin(ctx context.Context, addr string) context.Context {
	return withPickOpts(ctx, func(o *pickOpts) { o.pin = addr })
}

// Pinned reports whether ctx's RPCs go to one endpoint only (WithPin):
// re-sending them elsewhere is not an option.
func Pinned(ctx context.Context) bool { return pickOptsFrom(ctx).pin != "" }

// WithAvoid returns ctx whose RPCs go to an endpoint other than addr
// whenever another one is READY and not avoided.
func WithAvoid(ctx context.Context, addr string) context.Context {
	return withPickOpts(ctx, func(o *pickOpts) { o.avoid = addr })
}

// WithProbe marks ctx's RPC as a health probe: the picker does not count
// it as use of the client nor learn from its outcome (the prober records
// the verdict), and the retry layer sends it once.
func WithProbe(ctx context.Context) context.Context {
	return withPickOpts(ctx, func(o *pickOpts) { o.probe = true })
}

// IsProbe reports whether ctx was marked by WithProbe.
func IsProbe(ctx context.Context) bool { return pickOptsFrom(ctx).probe }
