package clientv3

import (
	"context"
	"math"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
)

// unaryInterceptor runs every unary RPC of the client's connections. For
// calls through this package's API (apiConn) it retries by the retry
// policy (reads on any Unavailable failure, writes only when provably
// unsent or rejected for want of a leader), re-sends an idempotent attempt
// whose member is declared down (invokeGuarded), and holds a write while
// the leader is out of reach (Health.AwaitLeader). A call without a
// deadline that has waited for a leader for retry.MaxNoLeaderTime returns
// ErrNoLeader; one with a deadline waits as long as it allows. Calls made
// with raw stubs over the connection are retried only after a learner's
// refusal, as the official client retries them. Every call renews a rejected auth
// token once. Health probes pass through untouched.
func (c *Client) unaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if balancer.IsProbe(ctx) {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	cs := c.beginCall(ctx, method, req, cc, opts)
	if cs.guarded != nil {
		defer cs.hedge.stop()
	}
	for n := uint(0); ; {
		if err := cs.holdForLeader(); err != nil {
			return err
		}
		tok := c.currentToken()
		var err error
		if cs.guarded != nil {
			err = c.invokeGuarded(ctx, cs.guarded, cs, method, req, reply, cc, invoker, opts)
		} else {
			err = invoker(&cs.actx, method, req, reply, cc, opts...)
		}
		switch {
		case err == errHedgeWon:
			// The hedge went to another member already: its answer
			// is taken as it is.
			if err = cs.hedge.copyTo(reply); err == nil {
				c.fresh(ctx, reply, math.MaxInt)
			}
			return err
		case err == nil:
			again, err := c.askAgainIfBehind(cs, reply)
			if !again {
				return err
			}
			continue
		case ctx.Err() != nil:
			return err
		}
		switch step, rerr := c.renewToken(ctx, &cs.authRenewed, tok, err); step {
		case sendAgain:
			cs.actx.Attempt.Reset()
			continue
		case giveUp:
			return rerr
		}
		wait, err := c.retryWait(cs, n, method, err)
		if err != nil {
			return err
		}
		if answered, err := cs.sleepUnlessHedgeAnswered(wait, reply); answered || err != nil {
			return err
		}
		n++
		cs.actx.Attempt.Reset()
	}
}

// beginCall classifies a call and makes its records (one allocation).
// Calls through this package's API get this file's fault handling: reads
// are guarded, writes are held while the leader is out of reach. Calls a
// user makes with raw stubs over the connection are retried as the
// official client retries them (retry.Raw), and are neither guarded nor
// held.
func (c *Client) beginCall(ctx context.Context, method string, req any, cc *grpc.ClientConn, opts []grpc.CallOption) *callState {
	kind := retry.Classify(method, req)
	api := isAPICall(opts)
	cs := &callState{ctx: ctx, kind: kind, policyKind: kind, hold: leaderHold}
	if !api {
		cs.policyKind = retry.Raw
	}
	// A caller that asked for require-leader wants a member without a
	// leader to say so: its writes are not held for a leader, and a
	// rejection is retried as the official client retries it (see
	// retry.Retryable).
	cs.callerLeader = callerRequiresLeader(ctx)
	cs.actx.Context = ctx
	if kind == retry.Mutating {
		cs.actx.Attempt.MarkForLeader()
	}
	if requiresLeader(ctx, method, opts) {
		cs.actx.Attempt.MarkRequireLeader()
	}
	if api && cc == c.conn && !balancer.Pinned(ctx) {
		switch kind {
		case retry.Idempotent:
			cs.guarded = c.health()
		case retry.Mutating:
			if !cs.callerLeader {
				cs.held = c.health()
			}
		}
	}
	return cs
}

// holdForLeader is the leader-hold step of a write's attempt: while the
// leader is out of reach the write waits for one, up to leaderHold over
// all of the call's attempts.
func (cs *callState) holdForLeader() error {
	if cs.held == nil {
		return nil
	}
	held, err := cs.held.AwaitLeader(cs.ctx, cs.hold)
	if err != nil {
		return err
	}
	if held > 0 && cs.leaderWait.IsZero() {
		cs.leaderWait = time.Now().Add(-held)
	}
	cs.hold -= held
	return nil
}

// askAgainIfBehind is the step after an answer: it reports whether the
// answer, from the past, is to be asked of another member (see
// monotonic.go), after the wait that takes; else the call returns err.
func (c *Client) askAgainIfBehind(cs *callState, reply any) (again bool, err error) {
	if c.fresh(cs.ctx, reply, cs.behindTries) {
		return false, nil
	}
	if err := sleep(cs.ctx, c.behindWait(cs.behindTries)); err != nil {
		return false, err
	}
	cs.behindTries++
	cs.actx.Attempt.AvoidLastPick()
	cs.actx.Attempt.Reset()
	return true, nil
}

// tokenStep is what renewToken decided.
type tokenStep int

const (
	notTokenErr tokenStep = iota // the failure is not about the token
	sendAgain                    // the token was renewed: send again
	giveUp                       // the token could not be renewed: return why
)

// renewToken is the auth step of a call's or a stream's retry loop: when
// the server rejected the token tok that an attempt carried, before doing
// anything (so that one more attempt cannot apply a write twice), the
// token is renewed once per call; renewed records that.
func (c *Client) renewToken(ctx context.Context, renewed *bool, tok string, err error) (tokenStep, error) {
	if *renewed || !c.canRefreshToken() || !isAuthTokenErr(err) {
		return notTokenErr, nil
	}
	*renewed = true
	if rerr := c.refreshToken(ctx, tok); rerr != nil {
		return giveUp, rerr
	}
	return sendAgain, nil
}

// retryWait is the retry step after a failed attempt n: it returns the wait
// before the next attempt, or err itself when the call is not retried.
func (c *Client) retryWait(cs *callState, n uint, method string, err error) (time.Duration, error) {
	att := &cs.actx.Attempt
	if n+1 >= c.policy.MaxRetries || !retry.Retryable(c.failure(cs.policyKind, att, cs.callerLeader, err)) {
		return 0, err
	}
	c.GetLogger().Debug("retrying RPC", zap.String("method", method), zap.Uint("attempt", n),
		zap.String("endpoint", att.Addr()), zap.Stringer("kind", cs.kind), zap.Error(err))
	switch {
	case err == errMemberDown:
		// The picker already avoids that member: re-send at once.
		return 0, nil
	case retry.IsNoLeader(err) && !cs.callerLeader:
		if cs.leaderWait.IsZero() {
			cs.leaderWait = time.Now()
		} else if _, bounded := cs.ctx.Deadline(); retry.NoLeaderExhausted(time.Since(cs.leaderWait), bounded) {
			return 0, err
		}
		cs.noLeader++
		return c.policy.NoLeaderBackoff(cs.noLeader), nil
	}
	cs.noLeader = 0
	return c.policy.Backoff(n), nil
}

// sleepUnlessHedgeAnswered waits out a retry's wait. A guarded call's
// hedge, still running, may have answered: its answer is then the call's
// (answered, with copyTo's error). One that answers during the wait ends
// it, and the next attempt finds the hedge has won.
func (cs *callState) sleepUnlessHedgeAnswered(wait time.Duration, reply any) (answered bool, err error) {
	if cs.guarded == nil {
		return false, sleep(cs.ctx, wait)
	}
	wonc := cs.hedge.wonChan()
	select {
	case <-wonc:
		return true, cs.hedge.copyTo(reply)
	default:
	}
	return false, sleepOr(cs.ctx, wait, wonc)
}

// leaderHold bounds how long a write, over all its attempts, waits for a
// leader in reach when the one it would go to is out of reach
// (Health.AwaitLeader): an election with etcd's default timing takes one
// to two seconds.
const leaderHold = 3 * time.Second

// callState is what the unary interceptor records about one call: how it
// is handled, its context with the current attempt's record, its hedge,
// the guard of the current attempt, and the state of its retry loop.
type callState struct {
	ctx          context.Context // the call's
	kind         retry.Kind
	policyKind   retry.Kind // kind as the retry policy sees it
	callerLeader bool       // the caller asked for require-leader
	// guarded is the client's Health for a guarded read, held for a
	// write held while the leader is out of reach; nil otherwise.
	guarded, held *balancer.Health

	actx  balancer.AttemptContext
	hedge hedge
	guard guardedAttempt

	authRenewed bool
	noLeader    uint          // consecutive ErrNoLeader rejections
	hold        time.Duration // what is left of the call's time to wait for a leader
	// leaderWait is when the call first waited for a leader (held, or
	// refused with ErrNoLeader); zero until then.
	leaderWait  time.Time
	behindTries int // serializable answers found older than one already had
}

// streamInterceptor runs the creation of every stream of the client's
// connections. Creation is retried like a unary RPC; a stream that breaks
// later is its owner's to re-open, because only the owner knows where to
// resume.
func (c *Client) streamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	kind := retry.Classify(method, nil)
	if !isAPICall(opts) {
		kind = retry.Raw // as for unary calls: a raw stub's stream
	}
	authRenewed := false
	// A stream's owner may pass an Attempt to learn which member the
	// stream went to.
	att := balancer.AttemptFrom(ctx)
	if att == nil {
		att = &balancer.Attempt{}
		ctx = balancer.WithAttempt(ctx, att)
	}
	att.MarkStream()
	if requiresLeader(ctx, method, opts) {
		att.MarkRequireLeader()
	}
	for n := uint(0); ; {
		att.Reset()
		tok := c.currentToken()
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err == nil || ctx.Err() != nil {
			return s, err
		}
		switch step, rerr := c.renewToken(ctx, &authRenewed, tok, err); step {
		case sendAgain:
			continue
		case giveUp:
			return nil, rerr
		}
		if n+1 >= c.policy.MaxRetries || !retry.Retryable(c.failure(kind, att, callerRequiresLeader(ctx), err)) {
			return nil, err
		}
		if err := sleep(ctx, c.policy.Backoff(n)); err != nil {
			return nil, err
		}
		n++
	}
}

// failure describes a failed attempt for the retry policy.
func (c *Client) failure(kind retry.Kind, att *balancer.Attempt, callerLeader bool, err error) retry.Failure {
	return retry.Failure{
		Kind:                 kind,
		MaybeSent:            att.MaybeSent(),
		CallerRequiresLeader: callerLeader,
		Alternatives:         c.resolver != nil && c.resolver.Len() > 1,
		Err:                  err,
	}
}

// callerRequiresLeader reports whether ctx carries the require-leader
// metadata of WithRequireLeader. Most calls carry no metadata, and cost
// nothing here.
func callerRequiresLeader(ctx context.Context) bool {
	md, ok := metadata.FromOutgoingContext(ctx)
	return ok && hasRequireLeader(md)
}
