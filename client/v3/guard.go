package clientv3

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/internal/attemptclock"
)

// Guarded calls: idempotent unary calls on the client's connection that
// may go to any member. An attempt still unanswered after
// Health.AttemptBound is guarded two ways:
//   - Hedging: when another endpoint is fit, the same request goes there
//     too, into a reply of its own, and the first answer wins; the other
//     is canceled. A hedge that fails is sent again a bound later while
//     the call is still waiting. A call stuck on a member that lost its
//     peers, or that stopped, is answered by another without waiting for
//     a verdict on the member.
//   - Watching (Health.WatchAttempt): the attempt's member, if silent since
//     the attempt began, is avoided by new calls and probed at once; the
//     attempt is abandoned (errMemberDown), for the retry loop to re-send,
//     when its member is declared down while another is fit.
//
// A slow call on a member that answers is never cut short: at worst it is
// sent twice. Writes are never guarded.

// errHedgeWon is the cause with which an attempt is canceled because the
// call's hedge answered first.
var errHedgeWon = errors.New("etcdclient: hedge answered first")

// hedge is the background attempt of one guarded call. It belongs to the
// call, not to one attempt: it may outlive the attempt that launched it
// and answer for a later one.
type hedge struct {
	mu      sync.Mutex
	running bool
	stopped bool
	won     bool
	reply   proto.Message
	cancel  context.CancelFunc      // the running hedge's
	fg      context.CancelCauseFunc // the foreground attempt's, while one runs
	wonc    chan struct{}           // made at the first launch; closed when the hedge wins
}

// wonChan returns a channel closed when the hedge wins; nil (never ready)
// if no hedge was launched.
func (g *hedge) wonChan() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.wonc
}

// begin registers the foreground attempt's cancel. It reports false if the
// hedge has already won, in which case there is nothing to attempt.
func (g *hedge) begin(cancel context.CancelCauseFunc) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.won {
		return false
	}
	g.fg = cancel
	return true
}

// end unregisters the foreground attempt.
func (g *hedge) end() {
	g.mu.Lock()
	g.fg = nil
	g.mu.Unlock()
}

// stop cancels a running hedge and forbids new ones; the call is over.
func (g *hedge) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if g.cancel != nil {
		g.cancel()
	}
}

// run sends one hedge with invoke, into a fresh reply of reply's type, to
// an endpoint other than avoid, unless one is running already or the call
// is over; with require-leader if lead. It returns when that hedge is
// done. On success it cancels the foreground attempt with errHedgeWon.
func (g *hedge) run(ctx context.Context, avoid string, lead bool, reply any, invoke func(context.Context, any) error) {
	// The foreground attempt may be decoding into reply right now, so the
	// hedge's own reply is made from reply's type alone: even
	// reply.ProtoReflect() writes to reply (it initializes the message's
	// state on first use).
	rt := reflect.TypeOf(reply)
	if rt == nil || rt.Kind() != reflect.Pointer {
		return
	}
	r, ok := reflect.New(rt.Elem()).Interface().(proto.Message)
	if !ok {
		return
	}
	g.mu.Lock()
	if g.running || g.stopped || g.won {
		g.mu.Unlock()
		return
	}
	// The hedge has its own Attempt: the call's records the foreground
	// attempt, which the retry policy reads.
	att := &balancer.Attempt{}
	if lead {
		att.MarkRequireLeader()
	}
	hctx, cancel := context.WithCancel(balancer.WithAttempt(balancer.WithAvoid(ctx, avoid), att))
	g.running, g.cancel = true, cancel
	if g.wonc == nil {
		g.wonc = make(chan struct{})
	}
	g.mu.Unlock()

	err := invoke(hctx, r)
	cancel()

	g.mu.Lock()
	g.running, g.cancel = false, nil
	var fg context.CancelCauseFunc
	if err == nil && !g.stopped {
		g.won, g.reply = true, r
		fg = g.fg
		close(g.wonc)
	}
	g.mu.Unlock()
	if fg != nil {
		fg(errHedgeWon)
	}
}

// copyTo makes reply the hedge's answer; call it only after the hedge won.
func (g *hedge) copyTo(reply any) error {
	m, ok := reply.(proto.Message)
	if !ok {
		return errors.New("etcdclient: reply is not a protobuf message")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	proto.Reset(m)
	proto.Merge(m, g.reply)
	return nil
}

// invokeGuarded runs one attempt of a guarded call of ctx, under
// cs.actx. It returns errHedgeWon if the call's hedge answered instead (the
// reply is then cs.hedge's), errMemberDown if the attempt was abandoned,
// else what the attempt returned.
//
// Hedges run under ctx, the call's own context, never under cs.actx: a
// hedge belongs to the call, with an Attempt record of its own, and may
// outlive the attempt that launched it.
func (c *Client) invokeGuarded(ctx context.Context, h *balancer.Health, cs *callState, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts []grpc.CallOption) error {
	actx, cancel := context.WithCancelCause(&cs.actx)
	defer cancel(nil)
	g := &cs.hedge
	if !g.begin(cancel) {
		return errHedgeWon
	}
	defer g.end()
	bound := h.AttemptBound()
	start := time.Now()
	cs.guard = guardedAttempt{
		start: start, bound: bound,
		callCtx: ctx, ctx: actx, cancel: cancel,
		h: h, att: &cs.actx.Attempt, g: g, tasks: &c.tasks,
		method: method, req: req, reply: reply, cc: cc, invoker: invoker, opts: opts,
	}
	c.guards.Add(&cs.guard.clock, &cs.guard, start.Add(bound))
	err := invoker(actx, method, req, reply, cc, opts...)
	c.guards.Remove(&cs.guard.clock)
	if err == nil {
		return nil
	}
	switch context.Cause(actx) {
	case errHedgeWon:
		return errHedgeWon
	case errMemberDown:
		return errMemberDown
	}
	return err
}

// guardedAttempt is what guarding one attempt takes, kept in the call's
// callState while the attempt runs.
type guardedAttempt struct {
	clock attemptclock.Entry // in the client's guard clock while the attempt runs
	tasks *tasks

	start      time.Time
	bound      time.Duration
	callCtx    context.Context // the call's, which hedges run under
	ctx        context.Context // the attempt's
	cancel     context.CancelCauseFunc
	h          *balancer.Health
	att        *balancer.Attempt
	g          *hedge
	method     string
	req, reply any
	cc         *grpc.ClientConn
	invoker    grpc.UnaryInvoker
	opts       []grpc.CallOption
}

// Check starts the guard of an attempt that has reached its bound, on a
// copy of its record: the call reuses the record for its next attempt once
// the clock has let go of it.
func (a *guardedAttempt) Check() (time.Duration, bool) {
	a.tasks.start((*a).watch)
	return 0, false
}

// watch guards an attempt past its bound: it watches the attempt's member
// and, for a read, hedges the call while the attempt runs. It runs on a copy of the
// record, which the call reuses for its next attempt.
func (a guardedAttempt) watch() {
	addr := a.att.Addr()
	for addr == "" {
		// Not sent yet: waiting for a connection is not silence.
		if sleep(a.ctx, a.bound) != nil {
			return
		}
		addr = a.att.Addr()
	}
	a.tasks.start(func() { a.h.WatchAttempt(a.ctx, addr, a.start, func() { a.cancel(errMemberDown) }) })
	invoke := func(hctx context.Context, r any) error {
		return a.invoker(hctx, a.method, a.req, r, a.cc, a.opts...)
	}
	for a.ctx.Err() == nil {
		if a.h.HasAlternative(addr) {
			a.g.run(a.callCtx, addr, a.att.RequiresLeader(), a.reply, invoke)
		}
		if sleep(a.ctx, a.bound) != nil {
			return
		}
	}
}

// guardTick is the least time between two firings of the client's guard
// clock: a guard starts at most this late after its bound (itself at
// least 300 ms), and a client with many slow calls in flight looks at
// them no more often than this.
const guardTick = 50 * time.Millisecond
