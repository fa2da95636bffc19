package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a74b11dd/etcdkit/internal/health"
	"github.com/a74b11dd/etcdkit/internal/prober"
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
	// minReadBound and readBoundFactor times the usual worst header
	// latency of recent reads (their smoothed mean plus four mean
	// deviations). Each further attempt of the same call that is cut by it
	// gets twice as long, so that a read that is slow for a good reason
	// still completes.
	minReadBound    = time.Second
	readBoundFactor = 4

	// recoveryWait bounds how long a read or a watch that every endpoint
	// failed waits for one to pass a probe again, when some failure says
	// the cluster is alive but cannot serve now (a 5xx, or an attempt cut
	// by a deadline or the probe): long enough for an election with etcd's
	// default timing.
	recoveryWait = 3 * time.Second
)

// record is what the client knows about one endpoint: the shared health
// record (down or up, recoveries, probe latency) and v2's probe
// bookkeeping. It is shared by every endpoint list that holds the same URL,
// so that Sync and SetEndpoints keep what was learnt.
type record struct {
	health.Record
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

// probeLatencyShift weighs each probe's round trip 1/4 in an endpoint's
// average latency, so that a member turned slow stands out within a
// second of probes.
const probeLatencyShift = 2

// downFailed is v2's one down reason: the endpoint failed a call or a
// probe.
const downFailed int32 = 1

func newRecord() *record {
	r := new(record)
	r.Latency.Shift = probeLatencyShift
	return r
}

// markDown records that the endpoint failed; it reports whether it was up
// until now.
func (h *record) markDown() bool { return h.MarkDown(downFailed) }

// markUp records that h's endpoint passed a probe, and counts a recovery
// in c if it was down.
func (c *httpClusterClient) markUp(h *record) {
	if h.MarkUp() {
		c.recoveries.Add(1)
		c.recovery.Signal()
	}
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
			eps[i].h = newRecord()
		}
	}
	return kept
}

// probeState is a client's probing. Its loop runs only while the client
// is in use: the first call starts it, and it ends by itself once no call
// has been in flight for probeLinger, so that a Client, which has no
// Close, never leaves a goroutine behind.
type probeState struct {
	loop prober.Loop

	// transport sends the probes. For an *http.Transport it is a clone,
	// whose idle connections the prober closes when its loop ends; for any
	// other transport it is the transport itself, and each probe asks for
	// its connection to be closed, so that nothing idles after the prober.
	once       sync.Once
	transport  http.RoundTripper
	closeConns bool
	closeIdle  func()
}

// startProber readies the client's probe loop; calls run it.
func (c *httpClusterClient) startProber() {
	p := &c.prober
	p.loop.Linger = probeLinger
	p.loop.Ended = func() { p.closeIdle() }
	p.loop.Start(func(_ context.Context, now time.Time, probes *sync.WaitGroup) time.Time {
		c.initProbes()
		c.startProbes(c.state.Load(), now, probes)
		return now.Add(probeTick)
	})
}

// beginCall records a call and starts the prober if it is not running. The
// caller must call endCall when the call returns.
func (c *httpClusterClient) beginCall() { c.prober.loop.Begin() }

func (c *httpClusterClient) endCall() { c.prober.loop.End() }

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

// probeTick is how often the prober looks for probes that are due.
const probeTick = 50 * time.Millisecond

// startProbes starts, each in its own goroutine counted in probes, the
// probes of st that are due and not already running: the preferred
// endpoint's every probeInterval, a down endpoint's every
// downProbeInterval, any other's every standbyProbeInterval.
func (c *httpClusterClient) startProbes(st *endpointState, at time.Time, probes *sync.WaitGroup) {
	now := at.UnixNano()
	for i := range st.eps {
		ep := &st.eps[i]
		every, inFlight := standbyProbeInterval, int32(1)
		switch {
		case ep.h.IsDown():
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
	ep.h.Latency.Observe(time.Since(start))
	ep.h.okAt.Store(start.UnixNano())
	c.markUp(ep.h)
	return true, nil
}

// healthPath is what the probe asks for. It leaves etcd's alarms out of
// the verdict: an alarm (NOSPACE, CORRUPT) is the cluster's, raised on
// every member alike, so it tells no member from another, and etcd 3.5
// still serves v2 reads and writes under it; counting it would make the
// client refuse writes (writeCheck) that the official client sends and
// etcd applies. What is left is what the probe is for: the member has a
// leader and can commit through it. A server that does not know the
// parameter ignores it.
const healthPath = "/health?exclude=NOSPACE&exclude=CORRUPT"

// probe reports whether ep's member answers GET /health, within
// probeTimeout, that it is healthy. An endpoint that has no /health (404:
// a gateway, or something other than etcd) counts as healthy whenever it
// answers, since the probe cannot judge it.
func (c *httpClusterClient) probe(ctx context.Context, ep *endpoint) bool {
	c.initProbes()
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.scheme+"://"+ep.host+ep.path+healthPath, nil)
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
