package clientv3

import (
	"context"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// watchQueueLimit bounds how many responses may wait for a slow reader of
// one watch channel.
//
// Watches share a stream, so the stream must never wait for one reader:
// that would stall every other watch on it. Buffering without bound (what
// the official client does) trades that stall for unbounded memory. We do
// neither: when a watch's queue is full, the stream cancels that one watch
// on the server and drops what it receives for it; once the reader has
// drained half the queue, the watch is created again from the revision
// after the last one queued. The server replays the missed events from
// its history, so the slow reader still sees every event exactly once,
// unless they were compacted meanwhile, in which case it gets ErrCompacted
// as any watch that asks for compacted history does.
//
// A variable, not a constant, so that tests can make watches slow cheaply.
var watchQueueLimit = 256

// subState is where a subscriber stands with the server. Only the stream's
// loop reads or writes it.
type subState int

const (
	// subPending: not on the server; created when a stream is up.
	subPending subState = iota
	// subCreating: create request sent, created response awaited.
	subCreating
	// subActive: created; sub.id is its watch ID on the current stream.
	subActive
	// subPaused: canceled on the server because its reader is slow; created
	// again when the deliverer asks.
	subPaused
	// subClosed: gone; nothing more is sent to it.
	subClosed
)

// subscriber is one Watch call: the request, the position reached, and the
// bounded queue between the stream and the caller's channel.
type subscriber struct {
	ctx           context.Context
	ch            chan WatchResponse
	req           *pb.WatchCreateRequest // template; StartRevision is set on every (re)creation
	createdNotify bool
	seq           uint64 // creation order, to resume watches in the order they were made

	// established is closed once the server first accepted (or refused)
	// the watch, or the watch ended; Watch returns then.
	established chan struct{}

	// Owned by the stream's loop.
	s              *watchStream
	state          subState
	id             int64
	nextRev        int64  // first revision not yet queued; 0 = "now", until created
	activation     uint64 // when it was made active on the stream (watchStream.activations)
	catchUpTo      int64  // created from a past revision: the revision it was created at; else 0
	frag           *pb.WatchResponse
	wasEstablished bool
	stopped        bool

	// Shared between the loop and the deliverer.
	mu          sync.Mutex
	queue       []WatchResponse
	done        bool // nothing more will be queued: close ch once the queue is empty
	paused      bool // the loop dropped responses because the queue was full
	resumeAsked bool
	notify      chan struct{} // capacity 1: "the queue changed"
	stopc       chan struct{} // closed to make the deliverer quit without draining
	// closing is closed when the watcher closes. A watch that ended on its
	// own is no longer the stream's, and nothing else would stop its
	// deliverer from waiting for a reader that may never come.
	closing <-chan struct{}
}

func newSubscriber(ctx context.Context, op *Op) *subscriber {
	sub := &subscriber{
		ctx: ctx,
		ch:  make(chan WatchResponse),
		req: &pb.WatchCreateRequest{
			Key:            op.key,
			RangeEnd:       op.end,
			StartRevision:  op.rev,
			ProgressNotify: op.progressNotify,
			PrevKv:         op.prevKV,
			Fragment:       op.fragment,
		},
		createdNotify: op.createdNotify,
		nextRev:       op.rev,
		established:   make(chan struct{}),
		notify:        make(chan struct{}, 1),
		stopc:         make(chan struct{}),
	}
	if op.filterPut {
		sub.req.Filters = append(sub.req.Filters, pb.WatchCreateRequest_NOPUT)
	}
	if op.filterDelete {
		sub.req.Filters = append(sub.req.Filters, pb.WatchCreateRequest_NODELETE)
	}
	return sub
}

// createRequest returns the request that (re)creates the watch from the
// first revision it has not delivered.
func (sub *subscriber) createRequest() *pb.WatchRequest {
	t := sub.req
	cr := &pb.WatchCreateRequest{
		Key:            t.Key,
		RangeEnd:       t.RangeEnd,
		StartRevision:  sub.nextRev,
		ProgressNotify: t.ProgressNotify,
		Filters:        t.Filters,
		PrevKv:         t.PrevKv,
		Fragment:       t.Fragment,
	}
	return &pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: cr}}
}

// markEstablished unblocks the Watch call waiting for this subscriber.
func (sub *subscriber) markEstablished() {
	if !sub.wasEstablished {
		sub.wasEstablished = true
		close(sub.established)
	}
}

// offer queues wr unless the queue is full, in which case it marks the
// subscriber paused and reports false: the caller must then stop the watch
// on the server and drop its responses until the deliverer asks to resume.
func (sub *subscriber) offer(wr WatchResponse) bool {
	sub.mu.Lock()
	if sub.done {
		sub.mu.Unlock()
		return true
	}
	if len(sub.queue) >= watchQueueLimit {
		sub.paused, sub.resumeAsked = true, false
		sub.mu.Unlock()
		return false
	}
	sub.queue = append(sub.queue, wr)
	sub.mu.Unlock()
	sub.poke()
	return true
}

// offerProgress queues a progress notification. It is always accepted: a
// notification already waiting at the tail is replaced, since the newer
// one says all it said, so progress never adds more than one entry.
func (sub *subscriber) offerProgress(wr WatchResponse) {
	sub.mu.Lock()
	if sub.done {
		sub.mu.Unlock()
		return
	}
	if n := len(sub.queue); n > 0 && sub.queue[n-1].IsProgressNotify() {
		sub.queue[n-1] = wr
	} else {
		sub.queue = append(sub.queue, wr)
	}
	sub.mu.Unlock()
	sub.poke()
}

// resumed records that the loop has acted on the deliverer's resume
// request.
func (sub *subscriber) resumed() {
	sub.mu.Lock()
	sub.paused, sub.resumeAsked = false, false
	sub.mu.Unlock()
}

// finish queues the last response, if any, and makes the deliverer close
// the channel once everything queued has been delivered.
func (sub *subscriber) finish(last *WatchResponse) {
	sub.mu.Lock()
	if !sub.done {
		sub.done = true
		if last != nil {
			sub.queue = append(sub.queue, *last)
		}
	}
	sub.mu.Unlock()
	sub.poke()
}

// stop makes the deliverer close the channel at once, dropping whatever is
// queued. Only the stream's loop calls it.
func (sub *subscriber) stop() {
	if !sub.stopped {
		sub.stopped = true
		close(sub.stopc)
	}
}

func (sub *subscriber) poke() {
	select {
	case sub.notify <- struct{}{}:
	default:
	}
}

// deliver moves queued responses to the caller's channel, one goroutine
// per watch so that a slow reader delays no one else. It closes the
// channel when the watch ends (once its last response is taken), the
// caller's ctx ends, or the watcher closes (at once, whatever is unread),
// and then tells the stream the subscriber is gone.
func (sub *subscriber) deliver(wg *sync.WaitGroup) {
	defer wg.Done()
	defer close(sub.ch)
	defer sub.s.post(streamOp{kind: opDetach, sub: sub})
	for {
		sub.mu.Lock()
		if len(sub.queue) == 0 {
			done := sub.done
			sub.queue = sub.queue[:0]
			sub.mu.Unlock()
			if done {
				return
			}
			select {
			case <-sub.notify:
				continue
			case <-sub.ctx.Done():
				return
			case <-sub.stopc:
				return
			case <-sub.closing:
				return
			}
		}
		wr := sub.queue[0]
		sub.queue[0] = WatchResponse{}
		sub.queue = sub.queue[1:]
		resume := sub.paused && !sub.resumeAsked && len(sub.queue) <= watchQueueLimit/2
		if resume {
			sub.resumeAsked = true
		}
		sub.mu.Unlock()
		if resume {
			sub.s.post(streamOp{kind: opResume, sub: sub})
		}
		if sub.ctx.Err() != nil {
			return
		}
		select {
		case sub.ch <- wr:
		case <-sub.ctx.Done():
			return
		case <-sub.stopc:
			return
		case <-sub.closing:
			return
		}
	}
}
