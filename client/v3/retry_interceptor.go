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
// with raw stubs over the connection are retried only when provably
// unsent, as the official client does. Every call renews a rejected auth
// token once. Health probes pass through untouched.
func (c *Client) unaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if balancer.IsProbe(ctx) {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	kind := retry.Classify(method, req)
	// Calls through this package's API get the fault handling below;
	// calls a user makes with raw stubs over the connection are retried
	// as the official client retries them, only when provably unsent, as
	// if they were all writes, and are neither hedged nor held.
	api := isAPICall(opts)
	policyKind := kind
	if !api {
		policyKind = retry.Mutating
	}
	// A caller that asked for require-leader wants a member without a
	// leader to say so: its writes are not held for a leader, and a
	// rejection is retried as the official client retries it (see
	// retry.Retryable).
	callerLeader := callerRequiresLeader(ctx)
	// One allocation for the call's records.
	cs := &callState{}
	cs.actx.Context = ctx
	att := &cs.actx.Attempt
	if kind == retry.Mutating {
		att.MarkWrite()
	}
	if requiresLeader(ctx, method, opts) {
		att.MarkRequireLeader()
	}
	actx := &cs.actx
	var h, wh *balancer.Health // guard reads; hold writes
	var g *hedge
	if api && cc == c.conn && !balancer.Pinned(ctx) {
		switch kind {
		case retry.Idempotent:
			if h = c.health(); h != nil {
				g = &cs.hedge
				defer g.stop()
			}
		case retry.Mutating:
			if !callerLeader {
				wh = c.health()
			}
		}
	}
	authRetried := false
	var noLeader uint  // consecutive ErrNoLeader rejections
	hold := leaderHold // what is left of the call's time to wait for a leader
	// leaderWait is when the call first waited for a leader (held, or
	// refused with ErrNoLeader); zero until then.
	var leaderWait time.Time
	behindTries := 0 // serializable answers found older than one already had
	for n := uint(0); ; {
		if wh != nil {
			held, err := wh.AwaitLeader(ctx, hold)
			if err != nil {
				return err
			}
			if held > 0 && leaderWait.IsZero() {
				leaderWait = time.Now().Add(-held)
			}
			hold -= held
		}
		tok := c.currentToken()
		var err error
		switch {
		case h != nil:
			err = c.invokeGuarded(ctx, h, cs, method, req, reply, cc, invoker, opts)
		default:
			err = invoker(actx, method, req, reply, cc, opts...)
		}
		if err == errHedgeWon {
			// The hedge went to another member already: its answer
			// is taken as it is.
			if err = g.copyTo(reply); err == nil {
				c.fresh(ctx, reply, math.MaxInt)
			}
			return err
		}
		if err == nil {
			if c.fresh(ctx, reply, behindTries) {
				return nil
			}
			// Ask a member other than the one that answered from
			// the past (see monotonic.go).
			if err := sleep(ctx, c.behindWait(behindTries)); err != nil {
				return err
			}
			behindTries++
			actx.Context = balancer.WithAvoid(ctx, att.Addr())
			att.Reset()
			continue
		}
		if ctx.Err() != nil {
			return err
		}
		if !authRetried && c.canRefreshToken() && isAuthTokenErr(err) {
			// The server rejected the token before doing anything,
			// so one more attempt cannot apply a write twice.
			authRetried = true
			if c.refreshToken(ctx, tok) {
				att.Reset()
				continue
			}
			return err
		}
		if n >= c.policy.MaxRetries || !retry.Retryable(c.failure(policyKind, att, callerLeader, err)) {
			return err
		}
		c.GetLogger().Debug("retrying RPC", zap.String("method", method), zap.Uint("attempt", n),
			zap.String("endpoint", att.Addr()), zap.Stringer("kind", kind), zap.Error(err))
		wait := c.policy.Backoff(n)
		switch {
		case err == errMemberDown:
			// The picker already avoids that member: re-send at once.
			wait = 0
		case retry.IsNoLeader(err) && !callerLeader:
			if leaderWait.IsZero() {
				leaderWait = time.Now()
			} else if _, bounded := ctx.Deadline(); retry.NoLeaderExhausted(time.Since(leaderWait), bounded) {
				return err
			}
			noLeader++
			wait = c.policy.NoLeaderBackoff(noLeader)
		default:
			noLeader = 0
		}
		if g != nil {
			// A hedge still running may answer during the wait.
			wonc := g.wonChan()
			select {
			case <-wonc:
				return g.copyTo(reply)
			default:
			}
			if err := sleepOr(ctx, wait, wonc); err != nil {
				return err
			}
		} else if err := sleep(ctx, wait); err != nil {
			return err
		}
		n++
		att.Reset()
	}
}

// leaderHold bounds how long a write, over all its attempts, waits for a
// leader in reach when the one it would go to is out of reach
// (Health.AwaitLeader): an election with etcd's default timing takes one
// to two seconds.
const leaderHold = 3 * time.Second

// callState is what the unary interceptor records about one call: its
// context with the current attempt's record, its hedge, and the guard of
// the current attempt.
type callState struct {
	actx  balancer.AttemptContext
	hedge hedge
	guard guardedAttempt
}

// streamInterceptor runs the creation of every stream of the client's
// connections. Creation is retried like a unary RPC; a stream that breaks
// later is its owner's to re-open, because only the owner knows where to
// resume.
func (c *Client) streamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	kind := retry.Classify(method, nil)
	if !isAPICall(opts) {
		kind = retry.Mutating // as for unary calls: a raw stub's stream
	}
	authRetried := false
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
		if !authRetried && c.canRefreshToken() && isAuthTokenErr(err) {
			authRetried = true
			if c.refreshToken(ctx, tok) {
				continue
			}
			return nil, err
		}
		if n >= c.policy.MaxRetries || !retry.Retryable(c.failure(kind, att, callerRequiresLeader(ctx), err)) {
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
