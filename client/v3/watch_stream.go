package clientv3

import (
	"context"
	"errors"
	"math"
	"sort"
	"sync"
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

// A watchStream carries the watches of one metadata set over successive
// gRPC Watch streams: when one breaks, the next is opened (on whichever
// member the balancer picks) and every watch is created again from the
// revision after the last one it queued.
//
// One goroutine, run, owns the stream's state. Everything else talks to it
// through post (callers and deliverers, never blocking) or through the
// channels of the current connection. run itself never blocks on a reader
// or on the network: requests go out through a send queue drained by the
// connection's sender, responses go to bounded per-watch queues.
type watchStream struct {
	w   *watcher
	key string

	// ctx carries the watches' outgoing metadata, and nothing else.
	ctx context.Context
	// userRequireLeader: the watches themselves asked for require-leader,
	// so losing the leader ends them with ErrNoLeader instead.
	userRequireLeader bool

	attached int // subscribers attached or being attached; guarded by w.mu

	inboxMu sync.Mutex
	inbox   []streamOp
	wake    chan struct{}

	// Owned by run.
	subs     map[*subscriber]struct{}
	byID     map[int64]*subscriber         // active heads and watches alone, by server watch ID
	heads    map[string]*subscriber        // by key, the head that others of its key may ride
	riders   map[*subscriber][]*subscriber // by head, the watches riding its server watch
	creating []*subscriber                 // created responses arrive in request order
	conn     *watchConn
	dialing  context.CancelFunc // non-nil while a stream is being opened
	dialed   chan dialResult
	retry    <-chan time.Time
	backoff  streamBackoff
	// activations counts watches made active on the current stream;
	// storeRev is the highest store revision a response has shown;
	// progressAsked holds, for the progress requests of the current stream
	// not yet answered, oldest first, the count when each was sent (see
	// onStreamProgress).
	activations   uint64
	storeRev      int64
	progressAsked []askedRun
	// owedRetry fires when the stream should ask the server again for a
	// progress answer some watches are owed (see requestProgressFor);
	// owedWait is the wait before the next ask.
	owedRetry <-chan time.Time
	owedWait  time.Duration
	connWG    sync.WaitGroup
	// addr is the member the current stream went to ("" if unknown or no
	// stream); downc is closed at the client's next down verdict for it.
	addr  string
	downc <-chan struct{}
	// failed is why reopening the stream, from a step that cannot return
	// it (a move off a member, a token refresh while handling a response),
	// is impossible: run ends every watch with it, as after any other
	// stream failure that no new stream can cure.
	failed error
}

type streamOpKind int

const (
	opAdd      streamOpKind = iota // start watching sub
	opDetach                       // sub's channel is closed
	opResume                       // sub's reader has caught up; create it again
	opProgress                     // send a progress request
)

type streamOp struct {
	kind streamOpKind
	sub  *subscriber
}

type dialResult struct {
	stream pb.Watch_WatchClient
	cancel context.CancelFunc
	ctx    context.Context
	err    error
	addr   string // the member the stream went to, if known
}

// watchConn is one gRPC Watch stream and its two goroutines.
type watchConn struct {
	cancel context.CancelFunc
	out    *sendQueue[*pb.WatchRequest]
	in     chan *pb.WatchResponse
	errc   chan error
}

func newWatchStream(w *watcher, key string, md metadata.MD) *watchStream {
	s := &watchStream{
		w:      w,
		key:    key,
		wake:   make(chan struct{}, 1),
		subs:   make(map[*subscriber]struct{}),
		byID:   make(map[int64]*subscriber),
		heads:  make(map[string]*subscriber),
		riders: make(map[*subscriber][]*subscriber),
		dialed: make(chan dialResult, 1),
	}
	// Only the watches' own metadata goes out: without WithRequireLeader a
	// member without a leader goes on serving its history, as with the
	// official client, and the stream moves to a member with a leader on
	// the probes' verdict when there is one (memberDown).
	s.userRequireLeader = hasRequireLeader(md)
	s.ctx = metadata.NewOutgoingContext(w.ctx, md)
	return s
}

// post hands op to run. It never blocks, so that callers and deliverers
// cannot be held up by the stream.
func (s *watchStream) post(op streamOp) {
	s.inboxMu.Lock()
	s.inbox = append(s.inbox, op)
	s.inboxMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *watchStream) takeInbox() []streamOp {
	s.inboxMu.Lock()
	ops := s.inbox
	s.inbox = nil
	s.inboxMu.Unlock()
	return ops
}

func (s *watchStream) run() {
	defer s.w.wg.Done()
	s.dial()
	for {
		var in <-chan *pb.WatchResponse
		var errc <-chan error
		if s.conn != nil {
			in, errc = s.conn.in, s.conn.errc
		}
		select {
		case <-s.wake:
			for _, op := range s.takeInbox() {
				if s.apply(op) {
					s.shutdown(nil)
					return
				}
			}
		case r := <-s.dialed:
			s.dialing = nil
			if r.err != nil {
				r.cancel()
				if err := s.broken(r.err); err != nil {
					s.shutdown(err)
					return
				}
				continue
			}
			s.connect(r)
		case resp := <-in:
			s.backoff.reset()
			if s.handle(resp) {
				s.shutdown(nil)
				return
			}
			if s.failed != nil {
				s.shutdown(s.failed)
				return
			}
		case err := <-errc:
			if err := s.broken(err); err != nil {
				s.shutdown(err)
				return
			}
		case <-s.downc:
			s.memberDown()
			if s.failed != nil {
				s.shutdown(s.failed)
				return
			}
		case <-s.retry:
			s.retry = nil
			s.dial()
		case <-s.owedRetry:
			s.askForOwedProgress()
		case <-s.w.ctx.Done():
			s.shutdown(s.w.ctx.Err())
			return
		}
	}
}

// dial opens a gRPC stream in the background; the result arrives on
// s.dialed.
func (s *watchStream) dial() {
	ctx, cancel := context.WithCancel(s.ctx)
	s.dialing = cancel
	s.connWG.Add(1)
	go func() {
		defer s.connWG.Done()
		att := &balancer.Attempt{}
		stream, err := s.w.remote.Watch(balancer.WithAttempt(ctx, att), s.w.callOpts...)
		s.dialed <- dialResult{stream: stream, cancel: cancel, ctx: ctx, err: err, addr: att.Addr()}
	}()
}

// memberDown handles a down verdict for the stream's member: the stream
// moves to another member if one is fit, resuming every watch where it
// was. Watches that asked for WithRequireLeader stay on a member that lost
// its leader, for the server to end them as the official client's would
// be; they too leave a silent member.
func (s *watchStream) memberDown() {
	h := s.w.client.health()
	ch, why := h.Down(s.addr)
	s.downc = ch
	if why == balancer.Up || why == balancer.NoLeader && s.userRequireLeader || !h.HasAlternative(s.addr) {
		return
	}
	s.w.lg.Debug("watch stream's member is down; moving", zap.String("endpoint", s.addr), zap.Stringer("reason", why))
	if err := s.broken(errMemberDown); err != nil {
		s.w.lg.Debug("watch: moving failed", zap.Error(err))
		s.failed = err
	}
}

// connect starts using a freshly opened stream and (re)creates on it every
// watch that is not paused, oldest first.
func (s *watchStream) connect(r dialResult) {
	c := &watchConn{
		cancel: r.cancel,
		out:    newSendQueue[*pb.WatchRequest](),
		in:     make(chan *pb.WatchResponse, 8),
		errc:   make(chan error, 1),
	}
	s.conn = c
	s.progressAsked = s.progressAsked[:0] // a new stream answers only its own requests
	if h := s.w.client.health(); h != nil && r.addr != "" {
		s.addr = r.addr
		s.downc, _ = h.Down(r.addr)
	}
	s.connWG.Add(2)
	go func() {
		defer s.connWG.Done()
		c.out.drain(r.ctx, r.stream.Send)
	}()
	go func() {
		defer s.connWG.Done()
		for {
			resp, err := r.stream.Recv()
			if err != nil {
				c.errc <- err
				return
			}
			select {
			case c.in <- resp:
			case <-r.ctx.Done():
				return
			}
		}
	}()
	pending := make([]*subscriber, 0, len(s.subs))
	for sub := range s.subs {
		if sub.state == subPending {
			pending = append(pending, sub)
		}
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].seq < pending[j].seq })
	for _, sub := range pending {
		s.create(sub)
	}
}

// broken handles the end of the current stream (or a failure to open
// one). It returns nil if the watches should be resumed on a new stream,
// or the error that ends them all.
func (s *watchStream) broken(err error) error {
	if s.conn != nil {
		s.conn.cancel()
		s.conn = nil
	}
	s.addr, s.downc = "", nil
	for sub := range s.subs {
		if sub.state == subActive || sub.state == subCreating {
			sub.state = subPending
		}
		sub.frag = nil
	}
	clear(s.byID)
	s.unshareAll()
	s.creating = nil

	if fatal := s.fatal(err); fatal != nil {
		return fatal
	}
	d := s.backoff.next()
	s.w.lg.Debug("watch stream broken; resuming", zap.Error(err), zap.Duration("after", d))
	s.retry = time.After(d)
	return nil
}

// fatal decides whether a stream error ends the watches. Unavailable and
// Internal errors (a member going away, a dropped connection, a member
// without a leader) are retried, as is a rejected auth token once the
// client has a new one; anything else is final. A member that has lost its
// leader ends the watches only if they asked for WithRequireLeader.
func (s *watchStream) fatal(err error) error {
	if ctxErr := s.w.ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if s.w.client.connShutdown() {
		// Nothing can reopen the stream: end every watch with the error,
		// as the official client does.
		return toErr(s.w.ctx, err)
	}
	if retry.IsNoLeader(err) {
		if s.userRequireLeader {
			return rpctypes.ErrNoLeader
		}
		return nil
	}
	if s.w.client != nil && s.w.client.maybeRefreshToken(s.w.ctx, err) {
		return nil
	}
	if retry.ReopenStream(retry.WatchStream, err) {
		return nil
	}
	return toErr(s.w.ctx, err)
}

// shutdown ends the stream for good: with err == nil because no watch is
// left, with a context error because the watcher is closing (channels are
// closed without a final response), or with the error that ends every
// watch (each gets a final Canceled response whose Err is err).
func (s *watchStream) shutdown(err error) {
	s.w.mu.Lock()
	s.w.forget(s)
	s.w.mu.Unlock()
	// Subscribers still in the inbox were attached before the stream was
	// forgotten; they end with the rest.
	for _, op := range s.takeInbox() {
		if op.kind == opAdd {
			s.subs[op.sub] = struct{}{}
		}
	}
	for sub := range s.subs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			sub.stop()
		default:
			// An empty header, as the official client gives: a reader may
			// look at Header.Revision before Err.
			sub.finish(&WatchResponse{Header: &pb.ResponseHeader{}, Canceled: true, closeErr: err})
		}
		sub.state = subClosed
		sub.markEstablished()
	}
	clear(s.subs)
	if s.dialing != nil {
		s.dialing()
	}
	if s.conn != nil {
		s.conn.cancel()
	}
	s.connWG.Wait()
	// A stream opened just as we stopped is canceled by its ctx above;
	// its result may still sit in the channel.
	select {
	case r := <-s.dialed:
		r.cancel()
	default:
	}
}

// apply executes one posted operation. It reports whether the stream has
// no subscriber left and must stop.
func (s *watchStream) apply(op streamOp) (last bool) {
	sub := op.sub
	switch op.kind {
	case opAdd:
		s.subs[sub] = struct{}{}
		sub.state = subPending
		if s.conn != nil {
			s.create(sub)
		}
	case opDetach:
		if sub.state == subClosed {
			return false
		}
		if sub.state == subActive {
			s.leave(sub)
		}
		// A subscriber still being created stays in s.creating: its
		// created response is matched, then canceled on the server.
		return s.remove(sub)
	case opResume:
		if sub.state != subPaused {
			return false
		}
		sub.resumed()
		sub.state = subPending
		if s.conn != nil {
			s.create(sub)
		}
	case opProgress:
		s.requestProgressFor()
	}
	return false
}

// askedRun records n unanswered progress requests in a row, sent when the
// stream had made activations watches active, or later: requests the
// server drops are never answered, so records of them stay until the
// stream ends, and runs keep that bounded.
type askedRun struct {
	activations uint64
	n           int
}

// maxAskedRuns bounds the runs remembered. Past it, a request is counted
// in the newest run, which makes it look older than it is: the safe side
// (see onStreamProgress). Forgetting a request instead would match the
// answers after it to requests newer than theirs.
const maxAskedRuns = 64

func (s *watchStream) requestProgress() {
	switch last := len(s.progressAsked) - 1; {
	case last >= 0 && (s.progressAsked[last].activations == s.activations || last+1 == maxAskedRuns):
		s.progressAsked[last].n++
	default:
		s.progressAsked = append(s.progressAsked, askedRun{activations: s.activations, n: 1})
	}
	s.conn.out.push(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_ProgressRequest{ProgressRequest: &pb.WatchProgressRequest{}}})
}

// remove forgets sub, which has ended. It reports whether it was the last.
func (s *watchStream) remove(sub *subscriber) (last bool) {
	sub.state = subClosed
	sub.markEstablished()
	delete(s.subs, sub)
	return s.w.detach(s)
}

// end delivers sub's last response and removes it.
func (s *watchStream) end(sub *subscriber, last WatchResponse) bool {
	sub.finish(&last)
	return s.remove(sub)
}

func (s *watchStream) create(sub *subscriber) {
	sub.state = subCreating
	s.creating = append(s.creating, sub)
	s.conn.out.push(sub.createRequest())
}

func (s *watchStream) cancelOnServer(id int64) {
	if s.conn != nil {
		s.conn.out.push(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CancelRequest{CancelRequest: &pb.WatchCancelRequest{WatchId: id}}})
	}
}

// handle dispatches one response of the current stream. It reports
// whether the stream has no subscriber left.
func (s *watchStream) handle(resp *pb.WatchResponse) (last bool) {
	if rev := resp.Header.GetRevision(); rev > s.storeRev {
		s.storeRev = rev
	}
	switch {
	case resp.Created:
		return s.onCreated(resp)
	case resp.WatchId == InvalidWatchID:
		s.onStreamProgress(resp)
		return false
	default:
		return s.onWatchResponse(resp)
	}
}

func (s *watchStream) onCreated(resp *pb.WatchResponse) (last bool) {
	if len(s.creating) == 0 {
		s.w.lg.Warn("watch: created response without a pending create", zap.Int64("watch-id", resp.WatchId))
		return false
	}
	sub := s.creating[0]
	s.creating[0] = nil
	s.creating = s.creating[1:]

	if sub.state == subClosed {
		if !resp.Canceled {
			s.cancelOnServer(resp.WatchId)
		}
		return false
	}
	if resp.Canceled {
		reason := resp.CancelReason
		if isAuthTokenReason(reason) && s.w.client != nil &&
			s.w.client.maybeRefreshToken(s.w.ctx, cancelReasonErr(reason)) {
			// The stream carries the old token: open a new one.
			sub.state = subPending
			if err := s.broken(status.Error(codes.Unavailable, reason)); err != nil {
				s.w.lg.Debug("watch: reconnect after token refresh failed", zap.Error(err))
				s.failed = err
			}
			return false
		}
		// Not Created, as with the official client: a reader that skips
		// created notifications must not skip this one.
		return s.end(sub, WatchResponse{Header: resp.Header, Canceled: true, CancelReason: reason})
	}

	sub.state = subActive
	sub.id = resp.WatchId
	s.byID[sub.id] = sub
	s.activations++
	sub.activation = s.activations
	sub.catchUpTo = 0
	sub.ahead = resp.Header != nil && sub.nextRev > resp.Header.Revision
	if resp.Header != nil && sub.nextRev != 0 && sub.nextRev <= resp.Header.Revision {
		// Created from a past revision: the server owes it the events
		// up to its current revision.
		sub.catchUpTo = resp.Header.Revision
	}
	if sub.nextRev == 0 && resp.Header != nil {
		// A watch from "now" starts after the revision the server had
		// when it created the watch; resuming from there loses nothing.
		sub.nextRev = resp.Header.Revision + 1
	}
	if sub.owed > 0 {
		s.owePending()
	}
	if !sub.wasEstablished {
		if sub.createdNotify {
			sub.offerProgress(WatchResponse{Header: resp.Header, Created: true})
		}
		sub.markEstablished()
	}
	s.share(sub)
	return false
}

// requestProgressFor answers a caller's RequestProgress: every watch of the
// stream is owed one progress notification, which it gets with the first
// answer that speaks for it at a revision the client knew the store had
// reached when the caller asked (knownRev), or later. The official client
// hands each answer the server sends to every watch it has then; but the
// server answers only while every watch of the stream is on it and caught
// up, and drops the request otherwise. A watch of ours
// may be off the server when the caller asks (paused for its slow reader,
// being created, or the stream being reopened), where the official
// client's would have been answered: so the stream asks again by itself
// (askForOwedProgress) until every owed watch has been answered, and its
// own requests' answers go only to the watches owed one.
func (s *watchStream) requestProgressFor() {
	// An answer to an earlier request, still in flight, may be older than
	// a write the caller has seen: it pays nothing.
	at := s.knownRev()
	for sub := range s.subs {
		if sub.state != subClosed {
			sub.owe(at)
		}
	}
	if s.conn != nil {
		s.requestProgress()
	}
	s.owePending()
}

// onStreamProgress hands a progress notification that the server sent for
// the whole stream, in answer to a progress request, to the owed watches
// it speaks for. The server answers only when all the watchers it has are
// synced; but it sends a watch's created response and its progress
// answers on two queues, so a watch created after the request may be
// announced before the answer, which then does not speak for it. That
// matters for a watch created from a past revision: the answer would claim
// revisions whose events it has not been sent (etcdtest/robustness found
// one given revision 1,089 before its events from 606). Such a watch is
// skipped when the answer may predate it: it became active after the
// oldest unanswered request was sent, and the answer's revision is not past
// the one it was created at (the store has not moved since, so nothing
// tells the two orders apart). Requests are matched to answers in order; a
// request the server dropped only makes the match older, so that more such
// watches are skipped. A skipped watch, like one off the server, stays
// owed.
func (s *watchStream) onStreamProgress(resp *pb.WatchResponse) {
	if resp.Canceled || resp.CompactRevision != 0 || len(resp.Events) > 0 {
		return
	}
	var asked uint64
	if len(s.progressAsked) > 0 {
		first := &s.progressAsked[0]
		asked = first.activations
		if first.n--; first.n == 0 {
			s.progressAsked = s.progressAsked[1:]
		}
	}
	rev := resp.Header.GetRevision()
	skipped := false
	for sub := range s.subs {
		switch {
		case sub.state != subActive || sub.head != nil:
			// Off the server, or riding: a rider hears through its head.
		case sub.activation > asked && sub.catchUpTo != 0 && rev <= sub.catchUpTo:
			skipped = true
		default:
			s.progressAll(sub, resp.Header, false)
		}
	}
	if skipped {
		s.owePending()
	}
}

// knownRev is the highest store revision the client has been shown, by
// this stream's responses or by any answer to a call (Client.seenRev).
func (s *watchStream) knownRev() int64 {
	if c := s.w.client; c != nil {
		return max(s.storeRev, c.seenRev.Load())
	}
	return s.storeRev
}

// Owed progress answers are asked for again after owedWaitFirst, then
// after twice the previous wait, up to owedWaitMax: the server drops the
// request while any watch of the stream is catching up, as an owed one
// often is just after its (re)creation, and it syncs watches every 100 ms.
const (
	owedWaitFirst = 100 * time.Millisecond
	owedWaitMax   = 2 * time.Second
)

// owe records one more progress notification owed to sub, to be paid by
// an answer at revision at or later.
func (sub *subscriber) owe(at int64) {
	if sub.owed < math.MaxUint8 {
		sub.owed++
	}
	sub.owedAt = max(sub.owedAt, at)
}

// owePending makes sure the stream will ask for an answer for the watches
// that are owed one.
func (s *watchStream) owePending() {
	if s.owedRetry == nil {
		s.owedWait = owedWaitFirst
		s.owedRetry = time.After(s.owedWait)
	}
}

// askForOwedProgress sends a progress request if an active watch is still
// owed an answer, and keeps asking until none is. Watches owed one while
// off the server call owePending once they are created again. While a
// watch waits for a revision the store has not been seen to reach, the
// server would drop the request, and each dropped request delays the
// matching of later answers: it then asks only every owedWaitMax, in case
// the store has moved unseen.
func (s *watchStream) askForOwedProgress() {
	s.owedRetry = nil
	if s.conn == nil {
		return
	}
	seen := s.knownRev()
	owed, blocked := false, false
	for sub := range s.subs {
		if sub.state != subActive {
			continue
		}
		owed = owed || sub.owed > 0
		blocked = blocked || sub.ahead && sub.nextRev > seen
	}
	if !owed {
		return
	}
	if !blocked || s.owedWait == owedWaitMax {
		s.requestProgress()
	}
	s.owedWait = min(2*s.owedWait, owedWaitMax)
	s.owedRetry = time.After(s.owedWait)
}

// progress tells sub that its server watch has sent everything up to
// hdr's revision, whether it rides another's server watch or has its own:
// a rider is never ahead of the store (see share), so it is told what its
// own server watch would have told it. A notification the server sends the
// watch itself (one made WithProgressNotify) is handed over, as the
// official client does; an answer to a progress request pays what sub is
// owed if it is at a revision the debts allow (see requestProgressFor).
func (s *watchStream) progress(sub *subscriber, hdr *pb.ResponseHeader, own bool) {
	n := 0
	if own {
		n = 1
	} else if sub.owed > 0 && hdr.GetRevision() >= sub.owedAt {
		n = int(sub.owed)
		sub.owed = 0
	}
	for i := range n {
		h := hdr
		if i < n-1 {
			h = copyHeader(hdr)
		}
		sub.offerProgress(WatchResponse{Header: h})
	}
	if hdr != nil && hdr.Revision >= sub.nextRev {
		sub.nextRev = hdr.Revision + 1
	}
}

func (s *watchStream) onWatchResponse(resp *pb.WatchResponse) (last bool) {
	head := s.byID[resp.WatchId]
	if head == nil {
		// A watch we canceled (or paused) whose responses were in flight.
		return false
	}
	if resp.Fragment {
		if head.frag == nil {
			head.frag = resp
		} else {
			head.frag.Events = append(head.frag.Events, resp.Events...)
		}
		return false
	}
	if head.frag != nil {
		resp.Events = append(head.frag.Events, resp.Events...)
		head.frag = nil
	}
	// Whatever the server watch sends, the store has reached its start.
	head.ahead = false
	switch {
	case resp.CompactRevision != 0 || resp.Canceled:
		return s.onEnded(head, resp)
	case len(resp.Events) == 0:
		s.progressAll(head, resp.Header, true)
		return false
	}
	for _, sub := range s.fanOut(head, resp) {
		// The reader is behind by a full queue. Take the watch off the
		// server watch and drop this response; the deliverer resumes it
		// from sub.nextRev once the reader catches up.
		s.leave(sub)
		sub.state = subPaused
		s.w.lg.Debug("watch: reader is slow; pausing watch", zap.Int64("watch-id", resp.WatchId), zap.Int64("next-rev", sub.nextRev))
	}
	if head.state == subActive && !head.indexed {
		s.share(head)
	}
	return false
}

// onEnded ends the watches of a server watch that the server canceled, or
// whose start was compacted, each with its own copy of the last response.
// A rider that needs nothing before the compacted revision would not have
// been compacted on a server watch of its own: it gets one.
func (s *watchStream) onEnded(head *subscriber, resp *pb.WatchResponse) (last bool) {
	delete(s.byID, head.id)
	s.unindex(head)
	riders := s.takeRiders(head)
	final := func(hdr *pb.ResponseHeader) WatchResponse {
		return WatchResponse{Header: hdr, CompactRevision: resp.CompactRevision, Canceled: true, CancelReason: resp.CancelReason}
	}
	last = s.end(head, final(resp.Header))
	for _, r := range riders {
		if resp.CompactRevision != 0 && r.nextRev >= resp.CompactRevision {
			r.state = subPending
			s.create(r)
			continue
		}
		last = s.end(r, final(copyHeader(resp.Header)))
	}
	return last
}

// isAuthTokenReason reports whether a watch was refused because the
// stream's auth token is no longer valid.
func isAuthTokenReason(reason string) bool {
	switch cancelReasonErr(reason) {
	case rpctypes.ErrInvalidAuthToken, rpctypes.ErrAuthOldRevision, rpctypes.ErrUserEmpty:
		return true
	}
	return false
}
