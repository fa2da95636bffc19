package client

import (
	"context"
	"net/http"
	"strconv"
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
//     returns a *ClusterError at once; the next call starts at the next
//     endpoint.
//   - A read whose reply carries an X-Etcd-Index below the highest one this
//     client had received when the read began comes from a member that lags
//     behind what the client has seen: it is kept aside and the read moves
//     on. (Indexes received during the read do not count: the client's own
//     concurrent writes would otherwise make every member look behind.) Only when
//     no endpoint gives a current reply is the freshest of those returned.
//   - Each endpoint is tried once per call, and when all failed the call
//     returns a *ClusterError holding every attempt's error. Except: when a
//     read or watch failed everywhere and some failure says the cluster is
//     alive but cannot serve now (a 5xx, or an attempt cut short), the call
//     waits up to recoveryWait for an endpoint to pass a probe again and
//     resends there; a watch may return to any endpoint that recovered.
//   - When ctx ends, do returns ctx.Err() itself, whatever else happened.
func (c *httpClusterClient) do(ctx context.Context, req *request) (*reply, error) {
	st := c.state.Load()
	n := len(st.eps)
	if n == 0 {
		return nil, ErrNoEndpoints
	}
	c.beginCall()
	defer c.endCall()

	// tried[k] is zero until the call tries endpoint k, then one more than
	// the endpoint's recovery count at that time.
	var triedBuf [8]uint64
	var tried []uint64
	if n <= len(triedBuf) {
		tried = triedBuf[:n]
	} else {
		tried = make([]uint64, n)
	}

	var bound time.Duration
	derived := false
	switch {
	case req.kind == kindWatch:
	case c.headerTimeout > 0:
		bound = c.headerTimeout
	case req.kind == kindRead:
		bound, derived = c.lat.readBound(), true
	}

	floor := c.floor.Load()
	var (
		errs      []error
		stale     *reply // the freshest reply from a lagging member
		staleIdx  uint64
		transient bool      // some failure says the cluster may recover soon
		waitUntil time.Time // when waiting for a recovery gives up
	)
	defer func() {
		if stale != nil {
			stale.release()
		}
	}()
	for {
		recovered := c.recoveries.Load()
		retry := req.kind == kindWatch || (!waitUntil.IsZero() && time.Now().Before(waitUntil))
		k, ok := pick(st, tried, retry)
		if !ok {
			// A write gets here unsent: one that may have been sent
			// returned at once. It may wait for a recovery as reads do.
			if !transient {
				break
			}
			if waitUntil.IsZero() {
				// From now on an endpoint the call tried is open again
				// once it has recovered, which some may have done
				// already, while the call tried the others.
				waitUntil = time.Now().Add(recoveryWait)
				continue
			}
			if err := c.awaitRecovery(ctx, recovered, waitUntil); err != nil {
				return nil, err
			}
			if !time.Now().Before(waitUntil) && c.recoveries.Load() == recovered {
				break
			}
			continue
		}

		ep := &st.eps[k]
		tried[k] = ep.h.upGen.Load() + 1
		if req.kind == kindWrite {
			ok, err := c.writeCheck(ctx, ep)
			if err != nil {
				return nil, err
			}
			if !ok {
				errs = append(errs, &uncheckedError{endpoint: ep.raw})
				transient = true
				continue
			}
		}
		rep := newReply()
		sentAt := time.Now().UnixNano()
		g := guard{ep: ep, bound: bound, health: req.kind != kindWrite}
		sent, err := c.send(ctx, &g, req, rep)
		if err == nil && rep.status < 500 {
			idx, hasIdx := etcdIndex(rep.header)
			if req.kind == kindRead && hasIdx && idx < floor {
				if stale == nil || idx > staleIdx {
					if stale != nil {
						stale.release()
					}
					stale, staleIdx = rep, idx
				} else {
					rep.release()
				}
				errs = append(errs, &laggingError{endpoint: ep.raw, index: idx})
				continue
			}
			if hasIdx && req.kind != kindWatch {
				c.raiseFloor(idx)
			}
			if req.kind == kindRead {
				c.lat.observe(g.latency)
			}
			if req.kind == kindWrite {
				// Applied: the member had a leader. (A plain read
				// proves nothing of the kind.)
				ep.h.okAt.Store(sentAt)
			}
			c.pin(st, k)
			return rep, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			rep.release()
			return nil, ctxErr
		}
		if err == nil {
			err = memberFailure(ep, rep)
			sent = true
			transient = true
		}
		rep.release()
		ep.h.markDown()
		c.failedAt.Store(time.Now().UnixNano())
		if isCut(err) {
			transient = true
			if derived {
				bound *= 2
			}
		}
		if req.kind == kindWrite && sent {
			errs = append(errs, &maybeAppliedError{method: req.method, endpoint: ep.raw, err: err})
			c.pin(st, (k+1)%n)
			return nil, &ClusterError{Errors: errs}
		}
		errs = append(errs, err)
	}
	if stale != nil {
		rep := stale
		stale = nil
		return rep, nil
	}
	c.pin(st, (st.pinned+1)%n)
	return nil, &ClusterError{Errors: errs}
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
			if h.down.Load() {
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
		return retry && !h.down.Load() && h.upGen.Load()+1 > t
	}
	healthy := func(k int) bool { return !st.eps[k].h.down.Load() && open(k) }

	if healthy(p) {
		if st.leader || !slow(st, p) {
			return p, true
		}
		best := p
		for k := range n {
			if k != p && healthy(k) && st.eps[k].h.latency.Load() < st.eps[best].h.latency.Load() {
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
	lp := st.eps[p].h.latency.Load()
	if lp == 0 {
		return false
	}
	var best int64
	for k := range st.eps {
		h := st.eps[k].h
		if l := h.latency.Load(); k != p && l > 0 && !h.down.Load() && (best == 0 || l < best) {
			best = l
		}
	}
	return best > 0 && lp > slowFactor*best+int64(slowMargin)
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

// etcdIndex returns the X-Etcd-Index of a keys API reply: the member's
// store index when it answered.
func etcdIndex(h http.Header) (uint64, bool) {
	v := h["X-Etcd-Index"]
	if len(v) == 0 {
		return 0, false
	}
	idx, err := strconv.ParseUint(v[0], 10, 64)
	return idx, err == nil
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

// memberFailure describes a 5xx reply from ep.
func memberFailure(ep *endpoint, rep *reply) error {
	msg := "client: etcd member " + ep.raw + " returned " + strconv.Itoa(rep.status) + " " + http.StatusText(rep.status)
	if e, ok := decodeKeysError(rep.body); ok {
		return &wrappedError{msg: msg + ": " + e.Error(), err: e}
	}
	var se serverError
	if decodeMessage(rep.body, &se) {
		return &wrappedError{msg: msg + ": " + se.Message, err: se}
	}
	return &wrappedError{msg: msg}
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

// wrappedError is an error with its own message that still lets errors.Is
// and errors.As reach the error it describes.
type wrappedError struct {
	msg string
	err error
}

func (e *wrappedError) Error() string { return e.msg }
func (e *wrappedError) Unwrap() error { return e.err }
