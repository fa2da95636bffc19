package concurrency

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.uber.org/zap"
)

const defaultSessionTTL = 60

// Session is a lease that a background goroutine keeps alive until the
// session is closed or orphaned, or the lease is lost. Keys written with
// the session's lease vanish when the session ends, which is how other
// processes learn that this one has gone.
type Session struct {
	client *v3.Client
	opts   *sessionOptions
	id     v3.LeaseID

	ctx    context.Context
	cancel context.CancelFunc
	donec  <-chan struct{}

	// lostc closes when the session ends other than by Orphan: its lease
	// was lost, no longer renewed, or revoked by Close. An orphaned
	// session's lease lives on until its TTL, and what is queued with it
	// may still win, as with the official client.
	lostc    chan struct{}
	loseOnce sync.Once
	orphaned atomic.Bool

	// seenRev is the highest revision in an answer to a queuing
	// transaction of this session's mutexes: a key of the session's found
	// at or below it was queued by a call that knows it (see
	// Mutex.abandonUnknown).
	seenRev atomic.Int64
}

// NewSession grants a lease (or adopts the one given WithLease) and starts
// keeping it alive.
func NewSession(client *v3.Client, opts ...SessionOption) (*Session, error) {
	lg := client.GetLogger()
	so := &sessionOptions{ttl: defaultSessionTTL, ctx: client.Ctx()}
	for _, opt := range opts {
		if opt != nil {
			opt(so, lg)
		}
	}

	id := so.leaseID
	granted := false
	if id == v3.NoLease {
		resp, err := client.Grant(so.ctx, int64(so.ttl))
		if err != nil {
			return nil, err
		}
		id, granted = resp.ID, true
	}

	ctx, cancel := context.WithCancel(so.ctx)
	keepAlive, err := client.KeepAlive(ctx, id)
	if err != nil || keepAlive == nil {
		cancel()
		if granted {
			// Nobody will ever use this lease; do not leave it (and
			// any keys a caller might attach) to time out.
			rctx, rcancel := context.WithTimeout(client.Ctx(), time.Second)
			client.Revoke(rctx, id)
			rcancel()
		}
		if err == nil {
			err = ErrSessionExpired
		}
		return nil, err
	}

	donec := make(chan struct{})
	s := &Session{client: client, opts: so, id: id, ctx: ctx, cancel: cancel, donec: donec, lostc: make(chan struct{})}
	go s.keepAlive(keepAlive, donec)
	return s, nil
}

// keepAlive consumes the keep-alive responses until the lease client
// gives up on the lease, the session is orphaned, or no renewal has been
// confirmed for a whole TTL. The last condition makes the session end
// even if the keep-alive channel stays open while the server is out of
// reach: by then the server may have expired the lease, and the session
// must not claim otherwise.
func (s *Session) keepAlive(keepAlive <-chan *v3.LeaseKeepAliveResponse, donec chan<- struct{}) {
	defer close(donec)
	defer func() {
		if !s.orphaned.Load() {
			s.lose()
		}
	}()
	defer s.cancel()

	var expiry *time.Timer
	var expired <-chan time.Time
	defer func() {
		if expiry != nil {
			expiry.Stop()
		}
	}()
	for {
		select {
		case resp, ok := <-keepAlive:
			if !ok {
				return
			}
			if resp == nil || resp.TTL <= 0 {
				continue
			}
			ttl := time.Duration(resp.TTL) * time.Second
			if expiry == nil {
				expiry = time.NewTimer(ttl)
				expired = expiry.C
			} else {
				expiry.Reset(ttl)
			}
		case <-expired:
			s.client.GetLogger().Warn("concurrency: session lease not renewed for a full TTL; ending the session",
				zap.Int64("lease", int64(s.id)))
			return
		case <-s.ctx.Done():
			return
		}
	}
}

// Client returns the client the session uses.
func (s *Session) Client() *v3.Client { return s.client }

// Lease returns the session's lease; attach it to keys that must vanish
// with the session.
func (s *Session) Lease() v3.LeaseID { return s.id }

// Ctx returns a context canceled when the session ends: orphaned, closed,
// or its lease no longer renewed.
func (s *Session) Ctx() context.Context { return s.ctx }

// Done returns a channel closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.donec }

// Orphan stops renewing the lease without revoking it: the lease, and the
// keys bound to it, live until its TTL runs out. Use it when the
// connection's state is unknown or the lease is being handed over.
func (s *Session) Orphan() {
	s.orphaned.Store(true)
	s.cancel()
	<-s.donec
}

// lose marks the session's lease as gone for its waiters.
func (s *Session) lose() { s.loseOnce.Do(func() { close(s.lostc) }) }

// lost returns a channel closed once the session's lease is gone, or no
// longer renewed, for another reason than Orphan.
func (s *Session) lost() <-chan struct{} { return s.lostc }

// sawRev records rev, from an answer to a queuing transaction.
func (s *Session) sawRev(rev int64) {
	for {
		cur := s.seenRev.Load()
		if rev <= cur || s.seenRev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// Close ends the session and revokes its lease, deleting the keys bound to
// it. If the session's context (WithContext) ends first, the lease is left
// to expire.
func (s *Session) Close() error {
	s.Orphan()
	defer s.lose()
	ctx, cancel := context.WithTimeout(s.opts.ctx, time.Duration(s.opts.ttl)*time.Second)
	defer cancel()
	_, err := s.client.Revoke(ctx, s.id)
	return err
}

type sessionOptions struct {
	ttl     int
	leaseID v3.LeaseID
	ctx     context.Context
}

// SessionOption configures NewSession.
type SessionOption func(*sessionOptions, *zap.Logger)

// WithTTL sets the TTL in seconds of the lease a session grants. A TTL
// below 1 keeps the default of 60 seconds.
func WithTTL(ttl int) SessionOption {
	return func(so *sessionOptions, lg *zap.Logger) {
		if ttl > 0 {
			so.ttl = ttl
			return
		}
		lg.Warn("concurrency: ignoring a session TTL below 1 second; using the default",
			zap.Int("ttl", ttl), zap.Int("default", defaultSessionTTL))
	}
}

// WithLease makes the session keep alive an existing lease instead of
// granting one, for example to take back the keys of a previous run of
// the process.
func WithLease(leaseID v3.LeaseID) SessionOption {
	return func(so *sessionOptions, _ *zap.Logger) { so.leaseID = leaseID }
}

// WithContext makes ctx, instead of the client's context, bound the
// session: canceling it ends the session and stops NewSession and Close
// early (Close then leaves the lease to expire rather than revoking it).
func WithContext(ctx context.Context) SessionOption {
	return func(so *sessionOptions, _ *zap.Logger) { so.ctx = ctx }
}
