package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// This file keeps each endpoint's health, which failover.go's selection
// reads. Two sources feed it:
//
//   - Real calls: an attempt that cannot reach its member, gets a 5xx, or is
//     cut by a per-attempt deadline marks the endpoint down at once.
//   - A light active probe, GET /health on every endpoint with a tight
//     deadline, while the client is in use. etcd answers {"health":"true"}
//     only when the member has a leader and can commit through it (on 3.5
//     with the v2 API it runs a quorum read, with a one-second server-side
//     limit); a member that is stopped, cut off from its clients, or cut off
//     from its peers fails the probe. Only a passed probe brings a down
//     endpoint back: a member cut off from its peers still answers plain
//     reads, from stale data, so a successful call proves nothing about it.
//
// The probe also measures each endpoint's latency, which lets the selection
// leave a preferred member that is much slower than the others.

const (
	// probeTimeout is the probe's deadline. A healthy member answers in
	// milliseconds; one that must time out its internal quorum read (it lost
	// its peers) takes a second, so the deadline marks it down before that.
	probeTimeout = 500 * time.Millisecond

	// probeInterval is how often the preferred endpoint, which the calls
	// use, is probed.
	probeInterval = 250 * time.Millisecond

	// downProbeInterval is how often an endpoint that is down is probed:
	// its recovery is what waiting calls wait for (after a leader fails,
	// the first probe that passes once the others have elected a new one
	// ends the reads' stall). Up to downProbesInFlight of its probes may
	// run at once: a probe sent to a follower before the election hangs,
	// forwarded to the dead leader, until probeTimeout, and the probe that
	// finds the new leader must not wait for it. Probes of different
	// endpoints run independently, so one that goes unanswered delays no
	// other. A silent member thus holds about five probes at a time, and
	// receives ten connections a second.
	downProbeInterval  = 100 * time.Millisecond
	downProbesInFlight = int32(probeTimeout/downProbeInterval) + 1

	// standbyProbeInterval is how often the prober also probes a healthy
	// endpoint that calls do not use. A probe is a quorum read (etcd 3.5
	// runs /health through raft, so every probe is a raft entry on every
	// member); probing the standbys less often keeps a client in use at
	// about six probes a second on a 3-member cluster instead of twelve.
	standbyProbeInterval = time.Second

	// probeLinger is how long the prober goes on after the last call
	// returned. Then its goroutine ends; the next call starts it again.
	probeLinger = time.Second

	// checkInterval is how often an attempt in flight looks at its
	// endpoint's health, to move off a member the probe found down.
	checkInterval = 100 * time.Millisecond

	// minReadBound and readBoundFactor make the per-attempt deadline of a
	// read when Config.HeaderTimeoutPerRequest is zero: the larger of
	// minReadBound and readBoundFactor times the 99th percentile of the
	// recent reads' header latency. Each further attempt of the same call
	// that is cut by it gets twice as long, so a read that is slow for a
	// good reason still completes.
	minReadBound    = time.Second
	readBoundFactor = 4

	// recoveryWait bounds how long a read or a watch that every endpoint
	// failed waits for one to pass a probe again, when some failure says
	// the cluster is alive but cannot serve now (a 5xx, or an attempt cut
	// by a deadline or the probe): long enough for an election with etcd's
	// default timing.
	recoveryWait = 3 * time.Second
)

// health is what the client knows about one endpoint. It is shared by every
// endpoint list that holds the same URL, so that Sync and SetEndpoints keep
// what was learnt.
type health struct {
	down atomic.Bool
	// upGen counts the endpoint's recoveries (down to up), so that a call
	// can tell whether an endpoint it already tried has recovered since.
	upGen atomic.Uint64
	// latency is a moving average of the probe's round trip, in
	// nanoseconds; zero until measured.
	latency atomic.Int64
	// probed is when the endpoint's last probe began, in unix
	// nanoseconds; probing counts those running.
	probed  atomic.Int64
	probing atomic.Int32
	// verdictAt is when the probe whose verdict the endpoint's health
	// holds was sent (unix ns): an older probe that ends later, having
	// hung, does not overrule it. Guarded by verdictMu.
	verdictMu sync.Mutex
	verdictAt int64
	// okAt is when the member last proved it can commit, by applying a
	// write or passing a probe, in unix nanoseconds: when that write or
	// probe was sent, since the proof may predate its answer.
	okAt atomic.Int64
	// checking, while a write check of the endpoint runs, is closed when
	// it ends, so that concurrent writes wait for one probe instead of
	// each sending its own. Guarded by checkMu.
	checkMu  sync.Mutex
	checking chan struct{}
}

// markDown records that ep failed; it reports whether ep was up until now.
func (h *health) markDown() bool { return h.down.CompareAndSwap(false, true) }

// markUp records that ep passed a probe, and counts a recovery in c if ep
// was down.
func (c *httpClusterClient) markUp(h *health) {
	if h.down.CompareAndSwap(true, false) {
		h.upGen.Add(1)
		c.recoveries.Add(1)
		c.recovery.Signal()
	}
}

// observeLatency folds one probe round trip into h's average.
func (h *health) observeLatency(d time.Duration) {
	old := h.latency.Load()
	if old == 0 {
		h.latency.Store(int64(d))
		return
	}
	h.latency.Store(old + (int64(d)-old)/4)
}

// adoptHealth gives each of eps the health of the endpoint with the same URL
// in old, or a fresh one, and returns how many it found in old.
func adoptHealth(eps []endpoint, old []endpoint) (kept int) {
	for i := range eps {
		eps[i].h = nil
		for j := range old {
			if old[j].raw == eps[i].raw {
				eps[i].h = old[j].h
				kept++
				break
			}
		}
		if eps[i].h == nil {
			eps[i].h = new(health)
		}
	}
	return kept
}

// probersRunning counts the prober goroutines of all clients, so that tests
// can wait for them to end.
var probersRunning atomic.Int64

// prober is a client's probing state. Its one goroutine runs only while the
// client is in use: the first call starts it, and it ends by itself once no
// call has been in flight for probeLinger, so that a Client, which has no
// Close, never leaves a goroutine behind.
type prober struct {
	running atomic.Bool
	active  atomic.Int64  // calls in flight
	calls   atomic.Uint64 // calls started

	// transport sends the probes. For an *http.Transport it is a clone,
	// whose idle connections the prober closes when it ends; for any other
	// transport it is the transport itself, and each probe asks for its
	// connection to be closed, so that nothing idles after the prober.
	once       sync.Once
	transport  http.RoundTripper
	closeConns bool
	closeIdle  func()
}

// beginCall records a call and starts the prober if it is not running. The
// caller must call endCall when the call returns.
func (c *httpClusterClient) beginCall() {
	p := &c.prober
	p.active.Add(1)
	p.calls.Add(1)
	if !p.running.Load() && p.running.CompareAndSwap(false, true) {
		probersRunning.Add(1)
		go c.probeLoop()
	}
}

func (c *httpClusterClient) endCall() { c.prober.active.Add(-1) }

// initProbes sets up the transport of the client's probes, once: the
// prober's and a write's check (writeCheck), whichever comes first.
func (c *httpClusterClient) initProbes() {
	p := &c.prober
	p.once.Do(func() {
		p.transport, p.closeConns, p.closeIdle = c.transport, true, func() {}
		if t, ok := c.transport.(*http.Transport); ok {
			clone := t.Clone()
			p.transport, p.closeConns, p.closeIdle = clone, false, clone.CloseIdleConnections
		}
	})
}

func (c *httpClusterClient) probeLoop() {
	p := &c.prober
	defer probersRunning.Add(-1)
	c.initProbes()
	var probes sync.WaitGroup
	defer probes.Wait()
	lastCalls := p.calls.Load()
	lastBusy := time.Now()
	for {
		c.startProbes(c.state.Load(), &probes)
		time.Sleep(probeTick)

		calls := p.calls.Load()
		if p.active.Load() > 0 || calls != lastCalls {
			lastCalls, lastBusy = calls, time.Now()
			continue
		}
		if time.Since(lastBusy) < probeLinger {
			continue
		}
		p.running.Store(false)
		// A call that began after the check above may have seen the
		// prober running and not started one: take over again.
		if (p.active.Load() > 0 || p.calls.Load() != lastCalls) && p.running.CompareAndSwap(false, true) {
			lastBusy = time.Now()
			continue
		}
		probes.Wait()
		p.closeIdle()
		return
	}
}

// probeTick is how often the prober looks for probes that are due.
const probeTick = 50 * time.Millisecond

// startProbes starts, each in its own goroutine counted in probes, the
// probes of st that are due and not already running: the preferred
// endpoint's every probeInterval, a down endpoint's every
// downProbeInterval, any other's every standbyProbeInterval.
func (c *httpClusterClient) startProbes(st *endpointState, probes *sync.WaitGroup) {
	now := time.Now().UnixNano()
	for i := range st.eps {
		ep := &st.eps[i]
		every, inFlight := standbyProbeInterval, int32(1)
		switch {
		case ep.h.down.Load():
			every, inFlight = downProbeInterval, downProbesInFlight
		case i == st.pinned:
			every = probeInterval
		}
		// Only this goroutine starts probes, so the count cannot grow
		// between the check and the increment.
		if now-ep.h.probed.Load() < int64(every) || ep.h.probing.Load() >= inFlight {
			continue
		}
		ep.h.probing.Add(1)
		ep.h.probed.Store(now)
		probes.Go(func() {
			c.probeAndRecord(context.Background(), ep)
			ep.h.probing.Add(-1)
		})
	}
}

// probeAndRecord probes ep and records the verdict in its health: a pass
// brings it up and proves, as of the probe's sending, that it can commit; a
// failure brings it down and, if it was up, counts as a failure that writes
// must see past (writeCheck). A probe sent before the one whose verdict ep
// holds records nothing. It reports the verdict; ctx's end is none, and
// records nothing.
func (c *httpClusterClient) probeAndRecord(ctx context.Context, ep *endpoint) (bool, error) {
	start := time.Now()
	ok := c.probe(ctx, ep)
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ep.h.verdictMu.Lock()
	defer ep.h.verdictMu.Unlock()
	if start.UnixNano() < ep.h.verdictAt {
		return ok, nil
	}
	ep.h.verdictAt = start.UnixNano()
	if !ok {
		if ep.h.markDown() {
			c.failedAt.Store(time.Now().UnixNano())
		}
		return false, nil
	}
	ep.h.observeLatency(time.Since(start))
	ep.h.okAt.Store(start.UnixNano())
	c.markUp(ep.h)
	return true, nil
}

// probe reports whether ep's member answers GET /health, within
// probeTimeout, that it is healthy. An endpoint that has no /health (404:
// a gateway, or something other than etcd) counts as healthy whenever it
// answers, since the probe cannot judge it.
func (c *httpClusterClient) probe(ctx context.Context, ep *endpoint) bool {
	c.initProbes()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.scheme+"://"+ep.host+ep.path+"/health", nil)
	if err != nil {
		return false
	}
	hreq.Header = c.headers.plain
	hreq.Close = c.prober.closeConns
	resp, err := c.prober.transport.RoundTrip(hreq)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return false
	}
	if resp.StatusCode == http.StatusNotFound {
		return true
	}
	var h struct {
		Health string `json:"health"`
	}
	return resp.StatusCode == http.StatusOK && json.Unmarshal(body, &h) == nil && h.Health == "true"
}

// latencies keeps the header latency of a client's recent successful reads,
// from which readBound derives the per-attempt deadline of reads.
type latencies struct {
	n       atomic.Uint64
	samples [128]atomic.Int64
	// bound is the current deadline in nanoseconds, recomputed every
	// boundEvery samples; zero means minReadBound.
	bound atomic.Int64
}

const boundEvery = 16

func (l *latencies) observe(d time.Duration) {
	i := l.n.Add(1)
	l.samples[i%uint64(len(l.samples))].Store(int64(d))
	if i%boundEvery != 0 && i > boundEvery {
		return
	}
	// The 99th percentile of 128 samples is the second largest.
	var first, second int64
	for j := range l.samples {
		v := l.samples[j].Load()
		switch {
		case v > first:
			first, second = v, first
		case v > second:
			second = v
		}
	}
	l.bound.Store(max(int64(minReadBound), readBoundFactor*second))
}

// readBound is the deadline of a read's first attempt when the user set no
// HeaderTimeoutPerRequest.
func (l *latencies) readBound() time.Duration {
	if b := l.bound.Load(); b > 0 {
		return time.Duration(b)
	}
	return minReadBound
}
