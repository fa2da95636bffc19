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
type subState uint8

const (
	// subPending: not on the server; created when a stream is up.
	subPending subState = iota
	// subCreating: create request sent, created response awaited.
	subCreating
	// subActive: created; sub.id is its watch ID on the current stream,
	// unless it rides the server watch of sub.head (watch_share.go).
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
	ctx context.Context
	ch  chan WatchResponse
	// What every (re)creation asks for, from nextRev on. Kept as fields
	// rather than as a request: a client may hold many thousands of these.
	key, end      []byte
	opts          watchOpts
	createdNotify bool
	// Owned by the stream's loop; kept beside opts, in the same word.
	state          subState
	wasEstablished bool
	indexed        bool   // a head that is its stream's entry in heads for its key (watch_share.go)
	ahead          bool   // its server watch starts past the store's revision (watch_share.go)
	owed           uint8  // progress notifications it is owed (see requestProgressFor)
	seq            uint64 // creation order, to resume watches in the order they were made

	// established is closed once the server first accepted (or refused)
	// the watch, or the watch ended; Watch returns then. Owned by the
	// stream's loop once attached.
	established chan struct{}
	s           *watchStream // set by attach, before anything else sees sub

	// Owned by the stream's loop.
	id         int64
	nextRev    int64  // first revision not yet queued; 0 = "now", until created
	activation uint64 // when it was made active on the stream (watchStream.activations)
	catchUpTo  int64  // created from a past revision: the revision it was created at; else 0
	owedAt     int64  // the revision an answer must be at to pay what it is owed
	frag       *pb.WatchResponse
	head       *subscriber // the head whose server watch it rides, if it rides (watch_share.go)

	// Shared between the loop, the deliverer and the end of ctx; see
	// deliver for who sends on ch and who closes it.
	mu          sync.Mutex
	queue       []WatchResponse
	done        bool // nothing more will be queued: close ch once the queue is empty
	paused      bool // the loop dropped responses because the queue was full
	resumeAsked bool
	stopped     bool          // close ch at once, dropping whatever is queued
	delivering  bool          // a deliverer runs: it alone sends on ch, and closes it
	closed      bool          // ch is closed
	stopc       chan struct{} // made for the first deliverer; closed by stop while one runs
}

// watchOpts are a watch's options that its create requests carry.
type watchOpts uint8

const (
	watchProgressNotify watchOpts = 1 << iota
	watchPrevKV
	watchFragment
	watchNoPut
	watchNoDelete
)

func newSubscriber(ctx context.Context, op *Op) *subscriber {
	var opts watchOpts
	for _, o := range []struct {
		set  bool
		flag watchOpts
	}{
		{op.progressNotify, watchProgressNotify}, {op.prevKV, watchPrevKV}, {op.fragment, watchFragment},
		{op.filterPut, watchNoPut}, {op.filterDelete, watchNoDelete},
	} {
		if o.set {
			opts |= o.flag
		}
	}
	return &subscriber{
		ctx:           ctx,
		ch:            make(chan WatchResponse),
		key:           op.key,
		end:           op.end,
		opts:          opts,
		createdNotify: op.createdNotify,
		nextRev:       op.rev,
		established:   make(chan struct{}),
	}
}

// createRequest returns the request that (re)creates the watch from the
// first revision it has not delivered.
func (sub *subscriber) createRequest() *pb.WatchRequest {
	cr := &pb.WatchCreateRequest{
		Key:            sub.key,
		RangeEnd:       sub.end,
		StartRevision:  sub.nextRev,
		ProgressNotify: sub.opts&watchProgressNotify != 0,
		PrevKv:         sub.opts&watchPrevKV != 0,
		Fragment:       sub.opts&watchFragment != 0,
	}
	if sub.opts&watchNoPut != 0 {
		cr.Filters = append(cr.Filters, pb.WatchCreateRequest_NOPUT)
	}
	if sub.opts&watchNoDelete != 0 {
		cr.Filters = append(cr.Filters, pb.WatchCreateRequest_NODELETE)
	}
	return &pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: cr}}
}

// markEstablished unblocks the Watch call waiting for this subscriber.
func (sub *subscriber) markEstablished() {
	if !sub.wasEstablished {
		sub.wasEstablished = true
		close(sub.established)
		sub.established = nil // Watch took it before attach; a watch may live long after
	}
}

// offer hands wr to the reader, or queues it, unless the queue is full, in
// which case it marks the subscriber paused and reports false: the caller
// must then stop the watch on the server and drop its responses until the
// deliverer asks to resume.
func (sub *subscriber) offer(wr WatchResponse) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.done || sub.closed {
		return true
	}
	if len(sub.queue) >= watchQueueLimit {
		sub.paused, sub.resumeAsked = true, false
		return false
	}
	sub.sendOrQueue(wr)
	return true
}

// offerProgress hands over or queues a progress notification. It is always
// accepted, whatever the queue holds, and never merged with one waiting
// there: a caller that asked for three may wait for three, as it gets them
// from the official client.
func (sub *subscriber) offerProgress(wr WatchResponse) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.done || sub.closed {
		return
	}
	sub.sendOrQueue(wr)
}

// resumed records that the loop has acted on the deliverer's resume
// request.
func (sub *subscriber) resumed() {
	sub.mu.Lock()
	sub.paused, sub.resumeAsked = false, false
	sub.mu.Unlock()
}

// finish hands over or queues the last response, if any, and closes the
// channel once everything queued has been delivered.
func (sub *subscriber) finish(last *WatchResponse) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.done || sub.closed {
		return
	}
	sub.done = true
	if last != nil {
		sub.sendOrQueue(*last)
	}
	if !sub.delivering {
		sub.closeLocked()
	}
}

// stop closes the channel at once, dropping whatever is queued. Only the
// stream's loop calls it.
func (sub *subscriber) stop() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.stopped || sub.closed {
		return
	}
	sub.stopped = true
	if sub.delivering {
		close(sub.stopc)
		return
	}
	sub.closeLocked()
}

// ctxDone closes the channel when the Watch call's ctx ends, unless a
// deliverer runs, which then does.
func (sub *subscriber) ctxDone() {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if !sub.delivering && !sub.closed {
		sub.closeLocked()
	}
}

// sendOrQueue gives wr to a reader waiting on the channel when nothing is
// queued before it, so that a reader that keeps up costs no goroutine and
// one hand-off; otherwise it queues wr for the deliverer, starting one if
// none runs. After the Watch call's ctx has ended, wr is dropped: the
// channel is about to close. The caller holds mu.
func (sub *subscriber) sendOrQueue(wr WatchResponse) {
	if sub.ctx.Err() != nil {
		return
	}
	if !sub.delivering && len(sub.queue) == 0 {
		select {
		case sub.ch <- wr:
			return
		default:
		}
	}
	sub.queue = append(sub.queue, wr)
	if sub.delivering {
		return
	}
	sub.delivering = true
	if sub.stopc == nil {
		sub.stopc = make(chan struct{})
	}
	if !startTask(sub.s.w.client, sub.deliver) {
		// The client is closing: nobody will read what is queued.
		sub.delivering = false
		sub.closeLocked()
	}
}

// closeLocked closes the channel and tells the stream the subscriber is
// gone. The caller holds mu and is the deliverer, or no deliverer runs.
func (sub *subscriber) closeLocked() {
	sub.closed, sub.delivering = true, false
	sub.queue = nil
	close(sub.ch)
	sub.s.w.ctxs.leave(sub)
	sub.s.post(streamOp{kind: opDetach, sub: sub})
	sub.s.w.wg.Done() // see attach
}

// deliver moves queued responses to the caller's channel while some wait
// for a reader that is not there yet, so that a slow reader delays no one
// else. It runs only while the queue is not empty (the stream's loop
// starts it; it returns once the queue is drained), and it alone sends on
// the channel and closes it meanwhile: when the watch ends (once its last
// response is taken), the caller's ctx ends, or the watcher closes (at
// once, whatever is unread). Without a deliverer, whoever ends the watch
// closes the channel, under mu.
func (sub *subscriber) deliver() {
	for {
		sub.mu.Lock()
		if sub.stopped || sub.ctx.Err() != nil {
			sub.closeLocked()
			sub.mu.Unlock()
			return
		}
		if len(sub.queue) == 0 {
			if sub.done {
				sub.closeLocked()
			}
			sub.delivering = false
			sub.mu.Unlock()
			return
		}
		wr := sub.queue[0]
		sub.queue[0] = WatchResponse{}
		sub.queue = sub.queue[1:]
		if len(sub.queue) == 0 {
			sub.queue = nil
		}
		resume := sub.paused && !sub.resumeAsked && len(sub.queue) <= watchQueueLimit/2
		if resume {
			sub.resumeAsked = true
		}
		sub.mu.Unlock()
		if resume {
			sub.s.post(streamOp{kind: opResume, sub: sub})
		}
		select {
		case sub.ch <- wr:
		case <-sub.ctx.Done():
		case <-sub.stopc:
		case <-sub.s.w.ctx.Done():
			// The watcher closed. A watch that ended on its own is no
			// longer the stream's, and nothing else would stop this
			// deliverer from waiting for a reader that may never come.
			sub.mu.Lock()
			sub.closeLocked()
			sub.mu.Unlock()
			return
		}
	}
}
