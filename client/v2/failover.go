package client

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// do sends req to the cluster and returns the first usable reply. It is the
// one place that decides which endpoint a request goes to and when it goes to
// another:
//
//   - Each attempt goes to the best endpoint the call may still try (pick):
//     the preferred (pinned) one while it is healthy, which keeps one warm
//     connection per caller; otherwise a healthy one; only when none is
//     left, one that looks unhealthy (health.go says how health is known).
//     The endpoint that answers becomes the preferred one.
//   - An attempt fails when the endpoint cannot be reached, the response
//     headers do not arrive within the attempt's deadline, the response
//     cannot be read, or the member answers with a 5xx status (it has no
//     leader or could not commit in time). Any other reply, 4xx included, is
//     the cluster's answer and is returned to the caller. A failed attempt
//     marks its endpoint down until a probe finds it healthy again.
//   - The attempt's deadline is HeaderTimeoutPerRequest when set. When it is
//     zero, a read still gets one, derived from the latency of recent reads
//     (see minReadBound), so that a read never waits on a silent member;
//     writes and watches get none.
//   - A read or a watch in flight moves to another endpoint when the probe
//     finds its endpoint down, or, if it was sent to an endpoint already
//     down (all were), when another endpoint recovers.
//   - Reads and watches are resent freely. A write (kindWrite: every PUT,
//     POST and DELETE, so Set, Create, Update, CreateInOrder, Delete and the
//     members and auth changes) is resent to another endpoint only if it
//     never left the client, that is, if no connection was obtained for it.
//     Once it may have reached a member, that member may apply it even if
//     the client never hears back, and resending could apply it twice:
//     create a second in-order key, report a Create or a compare-and-swap
//     that succeeded as failed, or overwrite a newer value. Such a call
//     returns a *ClusterError at once (a one-shot request, the attempt's
//     own error); the next call starts at the next endpoint.
//   - A read whose reply shows a store index (the keys API's X-Etcd-Index:
//     the API says how, in the request's replyChecks) below the highest one
//     this client had received when the read began comes from a member that lags
//     behind what the client has seen: it is kept aside and the read moves
//     on. (Indexes received during the read do not count: the client's own
//     concurrent writes would otherwise make every member look behind.) Only when
//     no endpoint gives a current reply is the freshest of those returned.
//   - Each endpoint is tried once per call, and when all failed the call
//     returns a *ClusterError holding every attempt's error, or, for a
//     one-shot request, the first attempt's error itself, as the official
//     client returns them. Except: when a read or watch failed everywhere
//     and some failure says the cluster is alive but cannot serve now, the
//     call waits up to recoveryWait for an endpoint to pass a probe again
//     and resends there; a watch may return to any endpoint that recovered.
//     An attempt cut short says so; a 5xx says so only if the member then
//     fails a probe (it has no leader, during an election say), which the
//     call sends once every endpoint has failed (judge). A member that
//     passes the probe and still answers 5xx will answer so again: the call
//     does not return to it, and fails as soon as the official client
//     would.
//   - When ctx ends, do returns ctx.Err() itself, whatever else happened.
func (c *httpClusterClient) do(ctx context.Context, req *request) (*reply, error) {
	return c.doOn(ctx, c.state.Load(), req)
}

// doOn is do on the endpoints of st, which need not be the client's
// current ones (Sync asks the members it is about to adopt who leads).
func (c *httpClusterClient) doOn(ctx context.Context, st *endpointState, req *request) (*reply, error) {
	n := len(st.eps)
	if n == 0 {
		return nil, ErrNoEndpoints
	}
	c.beginCall()
	defer c.endCall()

	// See callLog.tried.
	var triedBuf [8]uint64
	var tried []uint64
	if n <= len(triedBuf) {
		tried = triedBuf[:n]
	} else {
		tried = make([]uint64, n)
	}
	cl := callLog{floor: c.floor.Load(), tried: tried}
	cl.bound, cl.derived = c.attemptBound(req.kind)
	defer cl.dropStale()
	for {
		k, err := c.next(ctx, st, tried, req.kind, &cl)
		if err != nil {
			return nil, err
		}
		if k < 0 {
			break
		}
		tried[k] = st.eps[k].h.Recoveries() + 1
		if rep, done, err := c.attempt(ctx, st, k, req, &cl); done {
			return rep, err
		}
	}
	if rep := cl.stale; rep != nil {
		cl.stale = nil
		return rep, nil
	}
	c.pin(st, (st.pinned+1)%n)
	if req.oneShot && len(cl.errs) > 0 {
		return nil, cl.errs[0]
	}
	return nil, &ClusterError{Errors: cl.errs}
}

// callLog is what one call has learned on its way through the endpoints.
type callLog struct {
	// tried[k] is zero until the call tries endpoint k, then one more
	// than the endpoint's recovery count at that time: the call may
	// return to it once it has recovered since (math.MaxUint64: never).
	tried   []uint64
	bound   time.Duration // each attempt's deadline for the response headers; zero: none
	derived bool          // bound comes from recent reads' latency, not the Config
	floor   uint64        // the highest index the client had seen when the call began
	errs    []error       // every failed attempt's error, in order
	stale   *reply        // the freshest reply from a lagging member
	staleAt uint64        // its index
	// transient: some failure says the cluster may recover soon.
	transient bool
	waitUntil time.Time // when waiting for a recovery gives up
	// unjudged are the endpoints that answered the call with a 5xx and
	// have not yet been probed for it (see judge).
	unjudged []int
}

// keepStale keeps rep, a reply at index idx from a lagging member, if it is
// the freshest such so far, and releases it otherwise.
func (cl *callLog) keepStale(rep *reply, idx uint64) {
	if cl.stale != nil && idx <= cl.staleAt {
		rep.release()
		return
	}
	cl.dropStale()
	cl.stale, cl.staleAt = rep, idx
}

func (cl *callLog) dropStale() {
	if cl.stale != nil {
		cl.stale.release()
		cl.stale = nil
	}
}

// attemptBound returns the deadline of a call's attempts for the response
// headers: HeaderTimeoutPerRequest when set, else for a read one derived
// from recent reads (derived), else none.
func (c *httpClusterClient) attemptBound(kind requestKind) (bound time.Duration, derived bool) {
	switch {
	case kind == kindWatch:
		return 0, false
	case c.headerTimeout > 0:
		return c.headerTimeout, false
	case kind == kindRead:
		return c.lat.Bound(minReadBound, readBoundFactor), true
	}
	return 0, false
}

// next is the pick step of a call: the endpoint of st for its next attempt,
// or -1 when it has tried every one it may. When every endpoint failed and
// some failure says the cluster may recover soon, it waits up to
// recoveryWait for one to recover; the error is ctx's if it ends first.
func (c *httpClusterClient) next(ctx context.Context, st *endpointState, tried []uint64, kind requestKind, cl *callLog) (int, error) {
	for {
		recovered := c.recoveries.Load()
		retry := kind == kindWatch || (!cl.waitUntil.IsZero() && time.Now().Before(cl.waitUntil))
		if k, ok := pick(st, tried, retry); ok {
			return k, nil
		}
		if len(cl.unjudged) > 0 {
			if err := c.judge(ctx, st, cl); err != nil {
				return -1, err
			}
			continue
		}
		// A write gets here unsent: one that may have been sent
		// returned at once. It may wait for a recovery as reads do.
		if !cl.transient {
			return -1, nil
		}
		if cl.waitUntil.IsZero() {
			// From now on an endpoint the call tried is open again
			// once it has recovered, which some may have done
			// already, while the call tried the others.
			cl.waitUntil = time.Now().Add(recoveryWait)
			continue
		}
		if err := c.awaitRecovery(ctx, recovered, cl.waitUntil); err != nil {
			return -1, err
		}
		if !time.Now().Before(cl.waitUntil) && c.recoveries.Load() == recovered {
			return -1, nil
		}
	}
}

// attempt is one attempt of req on endpoint k of st, and its verdict: done
// with what the call returns, or not done when the call goes on to another
// endpoint. A write is sent only if the endpoint passes writeCheck.
func (c *httpClusterClient) attempt(ctx context.Context, st *endpointState, k int, req *request, cl *callLog) (rep *reply, done bool, err error) {
	ep := &st.eps[k]
	if req.kind == kindWrite {
		ok, err := c.writeCheck(ctx, ep)
		if err != nil {
			return nil, true, err
		}
		if !ok {
			cl.errs = append(cl.errs, &uncheckedError{endpoint: ep.raw})
			cl.transient = true
			return nil, false, nil
		}
	}
	rep = newReply()
	sentAt := time.Now().UnixNano()
	g := guard{ep: ep, bound: cl.bound, health: req.kind != kindWrite}
	sent, err := c.send(ctx, &g, req, rep)
	if err == nil && rep.status < 500 {
		return c.answered(st, k, req, rep, g.latency, sentAt, cl)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		rep.release()
		return nil, true, ctxErr
	}
	if err == nil {
		err = serverFailure(ep, rep.status)
		sent = true
		if req.kind != kindWrite {
			// Not open again until judge has probed it.
			cl.tried[k] = math.MaxUint64
			cl.unjudged = append(cl.unjudged, k)
		}
	}
	rep.release()
	ep.h.markDown()
	c.failedAt.Store(time.Now().UnixNano())
	if isCut(err) {
		cl.transient = true
		if cl.derived {
			cl.bound *= 2
		}
	}
	if req.kind == kindWrite && sent {
		c.pin(st, (k+1)%len(st.eps))
		if req.oneShot {
			return nil, true, err
		}
		cl.errs = append(cl.errs, &maybeAppliedError{method: req.method, endpoint: ep.raw, err: err})
		return nil, true, &ClusterError{Errors: cl.errs}
	}
	cl.errs = append(cl.errs, err)
	return nil, false, nil
}

// answered judges a reply below 500 from endpoint k: it is the call's
// answer, unless it is a read from a member behind the index the client
// had seen when the call began, which is kept aside (the freshest of them
// is returned if no endpoint does better) while the call goes on.
func (c *httpClusterClient) answered(st *endpointState, k int, req *request, rep *reply, latency time.Duration, sentAt int64, cl *callLog) (*reply, bool, error) {
	ep := &st.eps[k]
	idx, hasIdx := req.index(rep)
	if req.kind == kindRead && hasIdx && idx < cl.floor {
		cl.keepStale(rep, idx)
		cl.errs = append(cl.errs, &laggingError{endpoint: ep.raw, index: idx})
		return nil, false, nil
	}
	if hasIdx && req.kind != kindWatch {
		c.raiseFloor(idx)
	}
	switch req.kind {
	case kindRead:
		c.lat.Observe(latency)
	case kindWrite:
		// Applied: the member had a leader. (A plain read proves
		// nothing of the kind.)
		ep.h.okAt.Store(sentAt)
	}
	c.pin(st, k)
	return rep, true, nil
}

// writeCheck reports whether a write may go to ep. After a member failed,
// a write goes only to a member that has proved since that it can commit
// (applied a write, passed a probe); ep is probed first if it has not.
// Sent to a follower while the cluster has not yet noticed its leader
// died, a write is forwarded to the dead leader and never answered, and
// cannot be sent again since it may have been applied; the probe, a quorum
// read, fails instead until a leader serves, and the write waits unsent. A
// failed probe marks ep down. Concurrent writes share one probe. The error
// is ctx's, if it ended first.
func (c *httpClusterClient) writeCheck(ctx context.Context, ep *endpoint) (bool, error) {
	h := ep.h
	for {
		if f := c.failedAt.Load(); f == 0 || h.okAt.Load() > f {
			return true, nil
		}
		h.checkMu.Lock()
		if running := h.checking; running != nil {
			h.checkMu.Unlock()
			select {
			case <-running:
			case <-ctx.Done():
				return false, ctx.Err()
			}
			if h.IsDown() {
				return false, nil
			}
			continue
		}
		done := make(chan struct{})
		h.checking = done
		h.checkMu.Unlock()
		ok, err := c.probeAndRecord(ctx, ep)
		h.checkMu.Lock()
		h.checking = nil
		h.checkMu.Unlock()
		close(done)
		return ok, err
	}
}

// uncheckedError says a write was not sent to an endpoint that failed the
// health probe it needed first.
type uncheckedError struct{ endpoint string }

func (e *uncheckedError) Error() string {
	return "client: etcd member " + e.endpoint + " failed its health check; the write was not sent there"
}

// pick returns the endpoint of st for a call's next attempt, given what the
// call already tried, or false when the call may try none. An endpoint is
// open to the call if the call has not tried it yet, or, when retry is set,
// if it has recovered since the call tried it. The choice among those:
//
//  1. the preferred endpoint, if it is healthy and not much slower than the
//     fastest other healthy one (slow), or if it is the leader a Sync chose
//     in PrioritizeLeader mode;
//  2. the fastest healthy one, if the preferred endpoint is slow;
//  3. the first healthy one after the preferred endpoint, in order;
//  4. the first one, unhealthy ones included, from the preferred endpoint
//     on: when all look unhealthy, all are tried.
func pick(st *endpointState, tried []uint64, retry bool) (int, bool) {
	n, p := len(st.eps), st.pinned
	open := func(k int) bool {
		t := tried[k]
		if t == 0 {
			return true
		}
		h := st.eps[k].h
		return retry && !h.IsDown() && h.Recoveries()+1 > t
	}
	healthy := func(k int) bool { return !st.eps[k].h.IsDown() && open(k) }

	if healthy(p) {
		if st.leader || !slow(st, p) {
			return p, true
		}
		best := p
		for k := range n {
			if k != p && healthy(k) && st.eps[k].h.Latency.Load() < st.eps[best].h.Latency.Load() {
				best = k
			}
		}
		return best, true
	}
	for i := 1; i < n; i++ {
		if k := (p + i) % n; healthy(k) {
			return k, true
		}
	}
	for i := range n {
		if k := (p + i) % n; open(k) {
			return k, true
		}
	}
	return 0, false
}

// slowMargin and slowFactor define a slow member: its probe latency exceeds
// slowFactor times the fastest other healthy member's, plus slowMargin. The
// margin keeps the jitter of fast members from moving the preferred one.
const (
	slowFactor = 2
	slowMargin = 50 * time.Millisecond
)

// slow reports whether endpoint p of st is a slow member.
func slow(st *endpointState, p int) bool {
	lp := st.eps[p].h.Latency.Load()
	if lp == 0 {
		return false
	}
	var best time.Duration
	for k := range st.eps {
		h := st.eps[k].h
		if l := h.Latency.Load(); k != p && l > 0 && !h.IsDown() && (best == 0 || l < best) {
			best = l
		}
	}
	return best > 0 && lp > slowFactor*best+slowMargin
}

// awaitRecovery waits until some endpoint has recovered since the client's
// recovery count was seen at recovered, until is reached, or ctx ends, whose
// error it then returns.
func (c *httpClusterClient) awaitRecovery(ctx context.Context, recovered uint64, until time.Time) error {
	// Taken before the count is read: a recovery counted after the read
	// closes it.
	woken := c.recovery.Wait()
	if c.recoveries.Load() != recovered {
		return nil
	}
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-woken:
	case <-t.C:
	}
	return nil
}

// judge probes, at once and together, the endpoints that answered the
// call with a 5xx, and tells apart two kinds of member. One that fails the
// probe cannot serve now (it has no leader, say, during an election): the
// call may wait for it, and returns to it once it has recovered. One that
// passes has a leader and can commit, yet refused (a gateway's 502, a
// persistent server error): waiting would change nothing, so the call
// never returns to it, and fails at once if no other hope is left, as the
// official client does. The error is ctx's, if it ended first.
func (c *httpClusterClient) judge(ctx context.Context, st *endpointState, cl *callLog) error {
	ks := cl.unjudged
	cl.unjudged = nil
	healthy := make([]bool, len(ks))
	if len(ks) == 1 {
		healthy[0], _ = c.probeAndRecord(ctx, &st.eps[ks[0]])
	} else {
		var wg sync.WaitGroup
		for i, k := range ks {
			wg.Go(func() { healthy[i], _ = c.probeAndRecord(ctx, &st.eps[k]) })
		}
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, k := range ks {
		if !healthy[i] {
			cl.tried[k] = st.eps[k].h.Recoveries() + 1
			cl.transient = true
		}
	}
	return nil
}

// raiseFloor records that the cluster has reached index idx.
func (c *httpClusterClient) raiseFloor(idx uint64) {
	for {
		cur := c.floor.Load()
		if idx <= cur || c.floor.CompareAndSwap(cur, idx) {
			return
		}
	}
}

// replyChecks is what an API tells the failover engine about its replies,
// whose bodies and headers the engine does not read itself. A request
// without them (members, auth, version) has replies that show no index.
type replyChecks interface {
	// index returns the store index at which a member answered rep, if
	// it says: a read answered below an index the client had already
	// seen comes from a lagging member.
	index(rep *reply) (uint64, bool)
}

func (req *request) index(rep *reply) (uint64, bool) {
	if req.replies == nil {
		return 0, false
	}
	return req.replies.index(rep)
}

// serverFailure describes a reply with a 5xx status from ep, in the
// official client's words: etcd answers 500 or 503 when the member has no
// leader or could not commit in time.
func serverFailure(ep *endpoint, status int) error {
	if status == http.StatusInternalServerError || status == http.StatusServiceUnavailable {
		return errors.New("client: etcd member " + ep.raw + " has no leader")
	}
	return errors.New("client: etcd member " + ep.raw + " returns server error [" + http.StatusText(status) + "]")
}

// maybeAppliedError reports a write that failed after it may have reached a
// member, and was therefore not sent to another one.
type maybeAppliedError struct {
	method, endpoint string
	err              error
}

func (e *maybeAppliedError) Error() string {
	return e.err.Error() + " (the " + e.method + " request may have been applied by " + e.endpoint +
		", so it was not sent to another member)"
}

func (e *maybeAppliedError) Unwrap() error { return e.err }

// laggingError reports a read answered by a member behind what the client
// has already seen.
type laggingError struct {
	endpoint string
	index    uint64
}

func (e *laggingError) Error() string {
	return "client: etcd member " + e.endpoint + " answered at index " + strconv.FormatUint(e.index, 10) +
		", behind what this client has already seen"
}
