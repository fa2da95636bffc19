package clientv3

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Watch event types and watch IDs.
const (
	EventTypeDelete = mvccpb.Event_DELETE
	EventTypePut    = mvccpb.Event_PUT

	// AutoWatchID asks the server to choose the watch ID.
	AutoWatchID = 0

	// InvalidWatchID is a watch ID no watch has. The server uses it for
	// responses that concern every watch of a stream (progress requested
	// with RequestProgress) and for watches it refused to create.
	InvalidWatchID = -1
)

// Event is one change of a key.
type Event = mvccpb.Event

// WatchChan delivers the responses of one watch.
type WatchChan <-chan WatchResponse

// WatchResponse is a batch of events of one watch, or a notification about
// the watch itself.
type WatchResponse struct {
	Header *pb.ResponseHeader
	Events []*Event

	// CompactRevision is the oldest revision the watch can still deliver;
	// set when the watch was canceled because its start was compacted.
	CompactRevision int64

	// Canceled is set on the last response of a watch that ended for a
	// reason other than its context: Err says why. The channel closes
	// after it.
	Canceled bool

	// Created is set on the response that confirms the watch exists
	// (delivered only with WithCreatedNotify, or when the creation failed).
	Created bool

	// CancelReason is the server's reason for canceling the watch.
	CancelReason string

	// closeErr is the error that ended the watch's whole stream, set on
	// the final response of each watch of that stream.
	closeErr error
}

// Err returns the error the watch ended with, or nil: rpctypes.ErrCompacted
// when its start revision was compacted, the server's cancel reason as an
// rpctypes error when the server refused or canceled it, or the error that
// ended its stream.
func (wr *WatchResponse) Err() error {
	switch {
	case wr.closeErr != nil:
		return wr.closeErr
	case wr.CompactRevision != 0:
		return rpctypes.ErrCompacted
	case wr.Canceled:
		if wr.CancelReason != "" {
			return cancelReasonErr(wr.CancelReason)
		}
		return rpctypes.ErrFutureRev
	}
	return nil
}

// cancelReasonErr turns the reason a server gave for canceling a watch
// into an error. Servers write some reasons as bare etcd error messages
// and others as whole gRPC status strings ("rpc error: code = ... desc =
// etcdserver: permission denied"); either way a known etcd error becomes
// its rpctypes value, so that == and errors.Is work. Other reasons become
// a FailedPrecondition status error carrying the reason.
func cancelReasonErr(reason string) error {
	desc := reason
	if strings.HasPrefix(reason, "rpc error: ") {
		if i := strings.Index(reason, " desc = "); i >= 0 {
			desc = reason[i+len(" desc = "):]
		}
	}
	if err, ok := rpctypes.Error(status.Error(codes.FailedPrecondition, desc)).(rpctypes.EtcdError); ok {
		return err
	}
	return status.Error(codes.FailedPrecondition, reason)
}

// IsProgressNotify reports whether wr is a progress notification: no
// events, just the revision up to which the watch has seen everything.
func (wr *WatchResponse) IsProgressNotify() bool {
	return len(wr.Events) == 0 && !wr.Canceled && !wr.Created && wr.CompactRevision == 0 && wr.Header != nil && wr.Header.Revision != 0
}

// Watcher watches keys for changes.
type Watcher interface {
	// Watch watches key (or a range, with WithPrefix, WithRange or
	// WithFromKey) and delivers its events on the returned channel,
	// starting after the current revision or at WithRev. It returns once
	// the server has accepted the watch, or ctx ended.
	//
	// The channel closes when ctx ends (without a final response), when
	// the Watcher is closed, or when the watch fails for good: its start
	// revision was compacted (the last response has CompactRevision set
	// and Err() == rpctypes.ErrCompacted), the server refused it, or the
	// stream failed with an error that retrying cannot fix. Cancel ctx
	// when done to release the watch.
	//
	// Watches survive member failures: when their stream breaks they
	// resume on another member from the revision after the last one
	// delivered, so no event is lost or repeated. Only a ctx made with
	// WithRequireLeader makes a member's loss of its leader end the watch
	// with rpctypes.ErrNoLeader; otherwise the watch moves to a member
	// that has a leader.
	//
	// A watch whose reader falls far behind delays no other watch and
	// holds a bounded number of responses: it is paused on the server and
	// resumed when the reader catches up, still delivering every event
	// once (unless the history it missed was compacted meanwhile, which
	// ends it with ErrCompacted).
	Watch(ctx context.Context, key string, opts ...OpOption) WatchChan

	// RequestProgress asks for a progress notification on every watch of
	// the stream ctx selects (watches share a stream when their contexts
	// carry the same outgoing gRPC metadata). It does nothing if there is
	// no such stream.
	RequestProgress(ctx context.Context) error

	// Close ends every watch and closes their channels at once, dropping
	// responses not yet read, and returns once the Watcher's goroutines
	// have exited.
	Close() error
}

// watcher multiplexes watches over gRPC Watch streams, one stream per
// distinct set of outgoing metadata (watches made with WithRequireLeader,
// say, never share a stream with those made without).
type watcher struct {
	remote   pb.WatchClient
	client   *Client // nil for NewWatchFromWatchClient(wc, nil)
	callOpts []grpc.CallOption
	lg       *zap.Logger

	// ctx bounds everything the watcher does; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	streams map[string]*watchStream
	closed  bool
	nextSeq uint64

	// wg counts every goroutine of the watcher and every open watch
	// channel, so that Close returns only once they are all gone.
	wg sync.WaitGroup
	// ctxs closes the channels of watches whose ctx ends.
	ctxs watchCtxs
}

// NewWatcher returns a Watcher that uses c's connection.
func NewWatcher(c *Client) Watcher {
	return newWatcher(pb.NewWatchClient(connOf(c)), c, c.apiCallOptions())
}

// NewWatchFromWatchClient returns a Watcher over wc. c supplies the
// context, logger and call options, and may be nil.
func NewWatchFromWatchClient(wc pb.WatchClient, c *Client) Watcher {
	return newWatcher(wc, c, c.callOptions())
}

// newWatcher returns a Watcher over wc whose streams carry callOpts.
func newWatcher(wc pb.WatchClient, c *Client, callOpts []grpc.CallOption) *watcher {
	w := &watcher{
		remote:   wc,
		client:   c,
		callOpts: callOpts,
		lg:       c.GetLogger(),
		streams:  make(map[string]*watchStream),
	}
	w.ctx, w.cancel = context.WithCancel(c.lifeCtx())
	return w
}

// Watch implements Watcher.
func (w *watcher) Watch(ctx context.Context, key string, opts ...OpOption) WatchChan {
	op := OpWatch(key, opts...)
	if ctx == nil && op.err == nil {
		op.err = errNilContext
	}
	if op.err != nil {
		ch := make(chan WatchResponse, 1)
		ch <- WatchResponse{Header: &pb.ResponseHeader{}, Canceled: true, closeErr: op.err}
		close(ch)
		return ch
	}
	if ctx.Err() != nil {
		return closedWatchChan()
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	sub := newSubscriber(ctx, &op)
	established := sub.established
	if !w.attach(md, sub) {
		return closedWatchChan()
	}
	select {
	case <-established:
	case <-ctx.Done():
	case <-w.ctx.Done():
	}
	return sub.ch
}

func closedWatchChan() WatchChan {
	ch := make(chan WatchResponse)
	close(ch)
	return ch
}

// closedLocked reports whether the watcher was closed, by its Close or its
// client's. The caller holds mu.
func (w *watcher) closedLocked() bool { return w.closed || w.ctx.Err() != nil }

// attach hands sub to the stream of its metadata, starting that stream if
// needed, and has sub's channel closed when the Watch call's ctx ends. It
// reports false if the watcher is closed.
func (w *watcher) attach(md metadata.MD, sub *subscriber) bool {
	key := streamKey(md)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closedLocked() {
		return false
	}
	s := w.streams[key]
	if s == nil {
		s = newWatchStream(w, key, md)
		w.wg.Add(1)
		if !startTask(w.client, s.run) {
			w.wg.Done()
			return false
		}
		w.streams[key] = s
	}
	s.attached++
	w.nextSeq++
	sub.seq = w.nextSeq
	sub.s = s
	w.wg.Add(1) // done when sub's channel closes, so that Close waits for every deliverer
	// Posted before anything can close sub's channel: the stream must
	// learn of sub before it is told sub is gone.
	s.post(streamOp{kind: opAdd, sub: sub})
	w.ctxs.join(sub)
	return true
}

// detach records that one subscriber of s is gone. It reports whether s
// has no subscriber left, in which case s is forgotten and must stop.
func (w *watcher) detach(s *watchStream) (last bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s.attached--
	if s.attached > 0 {
		return false
	}
	w.forget(s)
	return true
}

// forget removes s from the stream map so that new watches start a new
// stream. The caller holds w.mu.
func (w *watcher) forget(s *watchStream) {
	if w.streams[s.key] == s {
		delete(w.streams, s.key)
	}
}

// RequestProgress implements Watcher.
func (w *watcher) RequestProgress(ctx context.Context) error {
	if ctx == nil {
		return errNilContext
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	w.mu.Lock()
	closed := w.closedLocked()
	s := w.streams[streamKey(md)]
	w.mu.Unlock()
	if closed {
		return errNoWatchStream
	}
	if s != nil {
		s.post(streamOp{kind: opProgress})
	}
	return nil
}

// Close implements Watcher. It returns once every goroutine of the watcher
// has exited and every watch channel is closed.
func (w *watcher) Close() error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
	w.ctxs.stopAll()
	return nil
}

// streamKey identifies the stream for a set of outgoing metadata: equal
// metadata, whatever the order it was added in, gives the same key.
func streamKey(md metadata.MD) string {
	if len(md) == 0 {
		return ""
	}
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		// Length prefixes keep distinct metadata from colliding whatever
		// bytes the keys and values contain.
		b.WriteString(strconv.Itoa(len(k)))
		b.WriteByte(':')
		b.WriteString(k)
		vs := md[k]
		b.WriteString(strconv.Itoa(len(vs)))
		for _, v := range vs {
			b.WriteByte(',')
			b.WriteString(strconv.Itoa(len(v)))
			b.WriteByte(':')
			b.WriteString(v)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// hasRequireLeader reports whether md asks for requests to fail when the
// member has no leader (WithRequireLeader).
func hasRequireLeader(md metadata.MD) bool {
	for _, v := range md.Get(rpctypes.MetadataRequireLeaderKey) {
		if v == rpctypes.MetadataHasLeader {
			return true
		}
	}
	return false
}
