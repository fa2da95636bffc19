package clientv3

import (
	"context"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
)

// keepAliveFirst is how long after KeepAlive a lease is first renewed at
// the latest, and half of it how long at the earliest: a lease is granted
// with its whole TTL, and the official lessor, whose send loop wakes every
// 500 ms, renews it within that time, not at once. A lease revoked right
// after KeepAlive thus ends its channel with no response delivered, as it
// does with the official client. The half between lets the first renewals
// of leases kept alive one after another travel together: the loop wakes
// once for them, not once per lease (each wake looks at every lease).
const keepAliveFirst = 500 * time.Millisecond

// keepAliveSlack is how long a renewal may wait past its due time, a
// third of the TTL, so that renewals falling due about the same time
// travel in one batch: the loop wakes once per batch, not once per lease,
// and renews each lease every TTL/3 plus up to this much, never later
// than half the TTL.
const keepAliveSlack = 500 * time.Millisecond

// keepAliveSilence is how long a stream may leave keep-alive requests
// unanswered before it is given up for another member: a member that
// answers at all answers within milliseconds. Leases shorter than
// 3*keepAliveSilence allow only a third of their TTL (see
// keepAlive.silence).
const keepAliveSilence = 1500 * time.Millisecond

// errKeepAliveSilence is what the client learns about a member that left
// keep-alives unanswered for keepAliveSilence.
var errKeepAliveSilence = status.Error(codes.DeadlineExceeded, "etcdclient: keep-alives unanswered")

// keepAliveSettle is how long a stream stays on a member other than the
// leader before it moves to the leader (see keepAliveLoop.toLeader): long
// enough that a leadership passed back and forth moves it at most once in
// that time.
const keepAliveSettle = 5 * time.Second

// keepAlive is the renewal state of one lease, shared by every KeepAlive
// call for it.
type keepAlive struct {
	regs []*keepAliveReg
	// req is the lease's renewal request, built once and sent every
	// round: gRPC may read a sent message lazily, so it is never changed.
	req *pb.LeaseKeepAliveRequest
	// due is when the next renewal may be sent and latest when it must
	// be: a wake-up sends every renewal that is due, so leases renewed
	// about the same time stay in step. deadline is when, without a
	// renewal, the lease must be presumed expired.
	due, latest time.Time
	deadline    time.Time
	// ttl is the TTL of the last renewal; zero before the first.
	ttl time.Duration
	// unsent: no renewal request has gone out yet. Such a lease keeps its
	// first due time when a stream opens (see connect).
	unsent bool
}

// schedule sets the next renewal of a lease renewed at now for ttl.
func (ka *keepAlive) schedule(now time.Time, ttl time.Duration) {
	ka.ttl = ttl
	ka.due = now.Add(ttl / 3)
	ka.latest = ka.due.Add(min(keepAliveSlack, ttl/6))
	ka.deadline = now.Add(ttl)
}

// awaiting reports whether the lease's last renewal request is unanswered:
// tick puts off the next one to the deadline until the answer comes.
func (ka *keepAlive) awaiting() bool { return !ka.unsent && ka.due.Equal(ka.deadline) }

// silence is how long a renewal of the lease may go unanswered before
// the stream is given up. A renewal is sent at most half a TTL after the
// last one; allowing a third of the TTL for the answer leaves a sixth
// (333 ms for the shortest lease etcd grants by default, 2 s) to renew
// the lease on another member.
func (ka *keepAlive) silence() time.Duration {
	if ka.ttl > 0 && ka.ttl/3 < keepAliveSilence {
		return ka.ttl / 3
	}
	return keepAliveSilence
}

// keepAliveReg is one KeepAlive call: its channel, and what ends it.
type keepAliveReg struct {
	ch            chan *LeaseKeepAliveResponse
	requireLeader bool
	stopAfter     func() bool // stops the ctx watch; nil once closed
	closed        bool
}

// close closes the channel once. The caller holds l.mu.
func (r *keepAliveReg) close() {
	if r.closed {
		return
	}
	r.closed = true
	close(r.ch)
	if r.stopAfter != nil {
		r.stopAfter()
	}
}

func (ka *keepAlive) closeAll() {
	for _, r := range ka.regs {
		r.close()
	}
	ka.regs = nil
}

// KeepAlive implements Lease.
func (l *lessor) KeepAlive(ctx context.Context, id LeaseID) (<-chan *LeaseKeepAliveResponse, error) {
	ch := make(chan *LeaseKeepAliveResponse, LeaseResponseChSize)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loopErr == nil && l.stopCtx.Err() != nil && l.loopDone == nil {
		l.loopErr = l.stopCtx.Err()
	}
	if l.loopErr == nil && l.loopDone == nil {
		l.loopDone = make(chan struct{})
		if !startTask(l.client, l.run) {
			// The client is closing: the loop would stop at once.
			close(l.loopDone)
			l.loopErr = context.Canceled
		}
	}
	if l.loopErr != nil {
		close(ch)
		return ch, ErrKeepAliveHalted{Reason: l.loopErr}
	}
	now := time.Now()
	ka := l.keepAlives[id]
	if ka == nil {
		ka = &keepAlive{
			req: &pb.LeaseKeepAliveRequest{ID: int64(id)},
			due: now.Add(keepAliveFirst / 2), latest: now.Add(keepAliveFirst),
			deadline: now.Add(l.firstKeepAliveTimeout),
			unsent:   true,
		}
		l.keepAlives[id] = ka
		if l.wakeAt.IsZero() || ka.latest.Before(l.wakeAt) {
			// The loop would otherwise sleep past this lease's first
			// renewal. Otherwise it need not wake: a wake looks at every
			// lease, and a thousand KeepAlive calls in a row would make
			// that a million looks.
			l.poke()
		}
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	reg := &keepAliveReg{ch: ch, requireLeader: hasRequireLeader(md)}
	ka.regs = append(ka.regs, reg)
	// The callback takes l.mu, which is held until we return, so it cannot
	// run before stopAfter is set.
	reg.stopAfter = context.AfterFunc(ctx, func() { l.unregister(id, reg) })
	return ch, nil
}

// unregister ends one KeepAlive call whose ctx ended; the lease stops being
// renewed when no call for it is left.
func (l *lessor) unregister(id LeaseID, reg *keepAliveReg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	reg.close()
	ka := l.keepAlives[id]
	if ka == nil {
		return
	}
	for i, r := range ka.regs {
		if r == reg {
			ka.regs = append(ka.regs[:i], ka.regs[i+1:]...)
			break
		}
	}
	if len(ka.regs) == 0 {
		delete(l.keepAlives, id)
	}
}

func (l *lessor) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Close implements Lease.
func (l *lessor) Close() error {
	l.stopCancel()
	l.mu.Lock()
	done := l.loopDone
	if done == nil && l.loopErr == nil {
		l.loopErr = l.stopCtx.Err()
	}
	l.mu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}

// leaseConn is one LeaseKeepAlive stream and its two goroutines.
type leaseConn struct {
	cancel context.CancelFunc
	out    *sendQueue[*pb.LeaseKeepAliveRequest]
	errc   chan error
	done   chan struct{} // closed when both goroutines have exited

	addr     string       // the member the stream went to, "" if unknown
	since    time.Time    // when it opened
	lastRecv atomic.Int64 // unix ns of the last response
	// awaiting is when the oldest request not followed by any response
	// was sent (zero: none), and silentAt when the stream is to be given
	// up if no response has come by then; both owned by the loop.
	awaiting, silentAt time.Time
	batch              []*pb.LeaseKeepAliveRequest // tick's scratch slice
}

type leaseDial struct {
	stream pb.Lease_LeaseKeepAliveClient
	ctx    context.Context
	cancel context.CancelFunc
	err    error
	addr   string
}

// run is the keep-alive loop: it keeps one LeaseKeepAlive stream open,
// sends each lease's renewal when it is due, and closes the channels of
// leases presumed expired. Renewals are received on the stream's own
// goroutine (receive), which never blocks on a reader.
//
// The stream goes to the leader when the client knows which member that
// is, and moves there (keepAliveSettle) when it is elsewhere: a follower
// forwards each renewal to the leader on its own and answers them one by
// one, which costs both ends several times what the leader's batched
// answers do, and leaves the renewals to a second member's faults.
//
// The stream is opened with require-leader metadata: a member that loses
// its leader cannot renew leases, and closes such streams, so the loop
// moves to a member that can. It moves sooner when the client declares the
// stream's member down (silent or leaderless) while another is fit, or
// when the stream leaves keep-alives unanswered for keepAliveSilence.
func (l *lessor) run() {
	lp := keepAliveLoop{
		l:         l,
		dialed:    make(chan leaseDial, 1),
		timer:     time.NewTimer(time.Hour),
		h:         l.client.health(),
		streamCtx: metadata.NewOutgoingContext(l.stopCtx, metadata.Pairs(rpctypes.MetadataRequireLeaderKey, rpctypes.MetadataHasLeader)),
	}
	defer lp.end()
	for {
		now := time.Now()
		// Before tick: renewals due now go on the new stream.
		lp.toLeader(now)
		if lp.conn == nil && !lp.dialing && !now.Before(lp.retryAt) {
			lp.dial()
		}
		wakeAt, silent := l.tick(now, lp.conn)
		if silent {
			l.lg.Debug("lease keep-alives unanswered; moving the stream", zap.String("endpoint", lp.conn.addr))
			if lp.h != nil && lp.conn.addr != "" {
				lp.h.Observe(lp.conn.addr, errKeepAliveSilence, keepAliveSilence)
			}
			lp.drop(0)
			continue
		}
		if lp.conn == nil && !lp.dialing && lp.retryAt.Before(wakeAt) {
			wakeAt = lp.retryAt
		}
		lp.timer.Reset(time.Until(wakeAt))

		var errc <-chan error
		if lp.conn != nil {
			errc = lp.conn.errc
		}
		select {
		case <-l.wake:
		case <-lp.timer.C:
		case r := <-lp.dialed:
			if lp.opened(r) {
				return
			}
		case <-lp.downc:
			lp.memberDown()
		case err := <-errc:
			if lp.broken(err) {
				return
			}
		case <-l.stopCtx.Done():
			return
		}
	}
}

// keepAliveLoop is the state of run: the current stream, or the one being
// opened, and when to try again.
type keepAliveLoop struct {
	l         *lessor
	conn      *leaseConn
	dialing   bool
	dialed    chan leaseDial
	retryAt   time.Time
	bo        streamBackoff
	timer     *time.Timer
	downc     <-chan struct{} // the stream's member's down channel
	h         *balancer.Health
	streamCtx context.Context
	// moved: the last stream was healthy when it was left for the
	// leader, so only the renewals it left unanswered are sent again at
	// once (see connect).
	moved bool
}

// dial opens a stream in the background; its outcome arrives on dialed.
func (lp *keepAliveLoop) dial() {
	lp.dialing = true
	go func() {
		ctx, cancel := context.WithCancel(lp.streamCtx)
		if lp.h != nil {
			// A lease's first renewal goes keepAliveFirst/2 after KeepAlive
			// at the earliest, so waiting that long for the client's first
			// probes to name the leader delays nothing.
			lp.h.AwaitLeaderKnown(ctx, keepAliveFirst/2)
		}
		att := &balancer.Attempt{}
		att.MarkForLeader()
		stream, err := lp.l.remote.LeaseKeepAlive(balancer.WithAttempt(ctx, att), lp.l.callOpts...)
		lp.dialed <- leaseDial{stream: stream, ctx: ctx, cancel: cancel, err: err, addr: att.Addr()}
	}()
}

// opened takes the outcome of dial: the new stream, or a retry after a
// backoff. It reports whether the loop must stop.
func (lp *keepAliveLoop) opened(r leaseDial) (stop bool) {
	lp.dialing = false
	if r.err != nil {
		r.cancel()
		if lp.l.fatal(r.err) {
			return true
		}
		lp.retryAt = time.Now().Add(lp.bo.next())
		return false
	}
	lp.conn = lp.l.connect(r, lp.moved)
	lp.moved = false
	if lp.h != nil && lp.conn.addr != "" {
		lp.downc, _ = lp.h.Down(lp.conn.addr)
	}
	lp.bo.reset()
	return false
}

// memberDown handles a verdict on the stream's member: the stream moves
// when the member is down and another is fit.
func (lp *keepAliveLoop) memberDown() {
	ch, why := lp.h.Down(lp.conn.addr)
	lp.downc = ch
	if why != balancer.Up && lp.h.HasAlternative(lp.conn.addr) {
		lp.l.lg.Debug("lease keep-alive stream's member is down; moving", zap.String("endpoint", lp.conn.addr), zap.Stringer("reason", why))
		lp.drop(0)
	}
}

// toLeader moves the stream to the leader when it has been on another
// member for keepAliveSettle and the leader is in reach. The loop asks
// when it wakes, which it does at least for every round of renewals.
func (lp *keepAliveLoop) toLeader(now time.Time) {
	if lp.conn == nil || lp.h == nil || lp.conn.addr == "" || now.Sub(lp.conn.since) < keepAliveSettle || !lp.h.LeaderElsewhere(lp.conn.addr) {
		return
	}
	lp.l.lg.Debug("lease keep-alive stream is not on the leader; moving", zap.String("endpoint", lp.conn.addr))
	lp.drop(0)
	lp.moved = true
}

// broken handles the end of the stream: a new one after a backoff. It
// reports whether the loop must stop.
func (lp *keepAliveLoop) broken(err error) (stop bool) {
	lp.drop(0)
	if lp.l.fatal(err) {
		return true
	}
	lp.retryAt = time.Now().Add(lp.bo.next())
	lp.l.lg.Debug("lease keep-alive stream broken; reopening", zap.Error(err))
	return false
}

// drop closes the current stream and schedules the next one after wait.
func (lp *keepAliveLoop) drop(wait time.Duration) {
	lp.conn.cancel()
	<-lp.conn.done
	lp.conn, lp.downc = nil, nil
	lp.retryAt = time.Now().Add(wait)
}

// end closes what the loop holds, ends the lessor's keep-alives and
// tells that the loop is done.
func (lp *keepAliveLoop) end() {
	lp.timer.Stop()
	if lp.conn != nil {
		lp.conn.cancel()
		<-lp.conn.done
	}
	if lp.dialing {
		r := <-lp.dialed
		r.cancel()
	}
	lp.l.halt(lp.l.stopCtx.Err())
	close(lp.l.loopDone)
}

// fatal handles a failure to open or keep the stream: it reports whether
// the loop must stop. Only closing the Lease, or an error that no new
// stream can fix (the client has no connection at all), stops it; every
// other error is retried, as the lease may still be saved by renewing it
// elsewhere. A member without a leader also ends the keep-alives whose
// callers asked for WithRequireLeader.
func (l *lessor) fatal(err error) bool {
	if l.stopCtx.Err() != nil {
		return true
	}
	if retry.IsNoLeader(err) {
		l.closeRequireLeader()
	}
	if !retry.ReopenStream(retry.KeepAliveStream, err) || l.client.connShutdown() {
		// An error that is not the server's, or a connection that was
		// closed: no new stream can help.
		l.lg.Warn("lease keep-alive loop halted", zap.Error(err))
		l.halt(err)
		return true
	}
	if l.client != nil {
		l.client.maybeRefreshToken(l.stopCtx, err)
	}
	return false
}

// connect starts the goroutines of a freshly opened stream and makes every
// lease that was renewed before, or whose renewal went out unanswered, due
// for renewal at once: it may have gone unrenewed while there was no
// stream. After a move to the leader (moved), when the last stream was
// healthy, only the renewals it left unanswered go at once; the others
// keep their time. A lease never sent keeps its first due time (keepAliveFirst):
// its grant gave it a whole TTL, and whether its first renewal comes within
// 500 ms of KeepAlive must not depend on when the stream happens to open
// (a lease revoked right after KeepAlive closes its channel without a
// response, as with the official lessor, also on a new Lease).
func (l *lessor) connect(r leaseDial, moved bool) *leaseConn {
	c := &leaseConn{
		cancel: r.cancel,
		out:    newSendQueue[*pb.LeaseKeepAliveRequest](),
		errc:   make(chan error, 1),
		done:   make(chan struct{}),
		addr:   r.addr,
		since:  time.Now(),
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		c.out.drain(r.ctx, r.stream.Send)
	}()
	go func() {
		defer close(c.done)
		l.receive(r.stream, c)
		r.cancel()
		<-sent
	}()
	now := time.Now()
	l.mu.Lock()
	for _, ka := range l.keepAlives {
		if !ka.unsent && (!moved || ka.awaiting()) {
			ka.due, ka.latest = now, now
		}
	}
	l.mu.Unlock()
	return c
}

// receive applies renewals as they arrive until the stream fails. On
// gRPC's own stream every response is decoded into the same message:
// renewed keeps only its header, which each decoding allocates afresh. A renewal proves that the
// stream's member follows a live leader; the client's health learns it at
// most every proofEvery (Health.Proved).
func (l *lessor) receive(stream pb.Lease_LeaseKeepAliveClient, c *leaseConn) {
	h := l.client.health()
	var lastProof time.Time
	resp := new(pb.LeaseKeepAliveResponse)
	for {
		var err error
		if l.recvInPlace {
			resp.Reset()
			err = stream.RecvMsg(resp)
		} else {
			resp, err = stream.Recv()
		}
		if err != nil {
			c.errc <- err
			return
		}
		now := time.Now()
		c.lastRecv.Store(now.UnixNano())
		if hdr := resp.Header; h != nil && c.addr != "" && hdr != nil && resp.TTL > 0 && now.Sub(lastProof) >= proofEvery {
			lastProof = now
			h.Proved(c.addr, balancer.Proof{Cluster: hdr.ClusterId, Member: hdr.MemberId, Term: hdr.RaftTerm, Revision: hdr.Revision}, now)
		}
		l.renewed(now, resp)
	}
}

// proofEvery is how often a keep-alive stream tells the client's health
// that its member renews leases: often enough to put off every probe of
// the member (500 ms apart), rarely enough to cost nothing per renewal.
const proofEvery = 100 * time.Millisecond

// renewed applies one keep-alive response, received at now: it schedules
// the next renewal and hands the response to every channel of the lease
// that has room. A TTL of zero means the lease is gone. resp is reused
// once renewed returns.
func (l *lessor) renewed(now time.Time, resp *pb.LeaseKeepAliveResponse) {
	id := LeaseID(resp.ID)
	l.mu.Lock()
	defer l.mu.Unlock()
	ka := l.keepAlives[id]
	if ka == nil {
		return
	}
	if resp.TTL <= 0 {
		ka.closeAll()
		delete(l.keepAlives, id)
		return
	}
	ka.schedule(now, time.Duration(resp.TTL)*time.Second)
	kr := &LeaseKeepAliveResponse{ResponseHeader: resp.Header, ID: id, TTL: resp.TTL}
	for _, r := range ka.regs {
		select {
		case r.ch <- kr:
		default:
			// The reader is behind; it will get a later renewal.
		}
	}
}

// tick sends the renewals that are due (when there is a stream), gives up
// on leases whose deadline has passed, and returns when it next has work.
// It reports silent if the stream has left requests unanswered for
// its silence allowance (keepAlive.silence).
func (l *lessor) tick(now time.Time, conn *leaseConn) (wakeAt time.Time, silent bool) {
	wakeAt = now.Add(time.Minute)
	if conn != nil && !conn.awaiting.IsZero() {
		if conn.lastRecv.Load() >= conn.awaiting.UnixNano() {
			conn.awaiting = time.Time{}
		} else if !now.Before(conn.silentAt) {
			return now, true
		} else {
			wakeAt = conn.silentAt
		}
	}
	var batch []*pb.LeaseKeepAliveRequest
	if conn != nil {
		batch = conn.batch[:0]
	}
	l.mu.Lock()
	for id, ka := range l.keepAlives {
		if !now.Before(ka.deadline) {
			l.lg.Debug("lease keep-alive deadline passed; giving up", zap.Int64("lease-id", int64(id)))
			ka.closeAll()
			delete(l.keepAlives, id)
			continue
		}
		if conn != nil {
			if !now.Before(ka.due) {
				batch = append(batch, ka.req)
				ka.unsent = false
				// Sent once per stream: its answer reschedules it. A member
				// answers every request of a stream, in order, or ends the
				// stream; asking again while the answer is on its way (the
				// official lessor asks every 500 ms) only queues duplicates
				// ahead of other leases' renewals at a slow member. A stream
				// that leaves it unanswered is given up (silence), and a new
				// one sends it again (connect); if no answer comes by its
				// deadline, it is given up above.
				ka.due, ka.latest = ka.deadline, ka.deadline
				silentAt := now.Add(ka.silence())
				if conn.awaiting.IsZero() {
					conn.awaiting, conn.silentAt = now, silentAt
				} else {
					conn.silentAt = minTime(conn.silentAt, silentAt)
				}
				wakeAt = minTime(wakeAt, conn.silentAt)
			}
			wakeAt = minTime(wakeAt, ka.latest)
		}
		wakeAt = minTime(wakeAt, ka.deadline)
	}
	l.wakeAt = wakeAt
	l.mu.Unlock()
	// Queued in one go and outside l.mu, so that the sender takes the
	// round at once and the answers arriving meanwhile do not wait.
	if len(batch) > 0 {
		conn.out.pushAll(batch)
		clear(batch)
		conn.batch = batch
	}
	return wakeAt, false
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// closeRequireLeader ends the keep-alives whose callers asked to fail when
// the member has no leader.
func (l *lessor) closeRequireLeader() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, ka := range l.keepAlives {
		kept := ka.regs[:0]
		for _, r := range ka.regs {
			if r.requireLeader {
				r.close()
			} else {
				kept = append(kept, r)
			}
		}
		ka.regs = kept
		if len(kept) == 0 {
			delete(l.keepAlives, id)
		}
	}
}

// halt records why the loop stopped (the first reason wins) and closes
// every keep-alive channel.
func (l *lessor) halt(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loopErr == nil {
		if err == nil {
			err = context.Canceled
		}
		l.loopErr = err
	}
	for id, ka := range l.keepAlives {
		ka.closeAll()
		delete(l.keepAlives, id)
	}
}
