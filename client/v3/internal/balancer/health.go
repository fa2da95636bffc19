package balancer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
)

// Backoff bounds for avoiding an endpoint whose calls fail.
const (
	minAvoid = 500 * time.Millisecond
	maxAvoid = 5 * time.Second
)

// Health holds what one client has learned about each of its endpoints,
// from the outcome and latency of its calls and from active probes. It is
// the one place that decides whether an endpoint is fit to serve; the
// picker, the retry layer and the watch and keep-alive streams all ask it.
//
// An endpoint is avoided while either
//   - its calls fail with errors that say something about the member
//     (unreachable, no leader, timed out): for a backoff that grows with
//     consecutive failures and ends at the first success; or
//   - it is down: its last probe went unanswered, or it said it has no
//     leader. Only a probe that finds it serving with a leader brings it
//     back.
//
// It is safe for concurrent use.
type Health struct {
	mu  sync.Mutex
	eps map[string]*endpointState
	// ready holds the READY endpoints of the latest picker, current the
	// client's endpoints; each list is replaced whole, never changed, so
	// that readers on a call's path take no lock.
	ready   atomic.Pointer[[]*endpointState]
	current atomic.Pointer[[]*endpointState]

	// Use of the client, which decides whether probes run.
	inflight atomic.Int64 // calls and streams picked and not yet done
	lastUse  atomic.Int64 // unix ns of the last pick
	idle     atomic.Bool  // the prober waits for the client to be used
	wake     chan struct{}

	// leader is the leader named by the serving member with the highest
	// raft term, as the probes found it (nil: unknown); writes go there.
	leader atomic.Pointer[leaderView]

	// Client-wide latency of successful unary calls, as a smoothed mean
	// and mean deviation (ns), for the bound after which an attempt is
	// watched.
	srtt   atomic.Int64
	rttvar atomic.Int64

	timing Timing
}

// Timing holds the time constants of health checking. Zero fields take
// the defaults (DefaultTiming).
type Timing struct {
	// ProbeInterval is the time between two probes of a healthy endpoint
	// while the client is in use.
	ProbeInterval time.Duration
	// SuspectProbeInterval is the time between two probes of an endpoint
	// that is down or whose calls failed recently.
	SuspectProbeInterval time.Duration
	// ProbeTimeout is how long a probe may take before the endpoint is
	// declared down.
	ProbeTimeout time.Duration
	// IdleAfter is how long after its last call a client with no call or
	// stream open stops probing.
	IdleAfter time.Duration
	// MinAttemptBound is the least time an idempotent attempt runs before
	// it is watched (see AttemptBound).
	MinAttemptBound time.Duration
	// LagGrace is how long after another member had applied a revision
	// a member that still has not is declared Lagging.
	LagGrace time.Duration
}

// DefaultTiming is the timing of NewHealth.
var DefaultTiming = Timing{
	ProbeInterval:        500 * time.Millisecond,
	SuspectProbeInterval: 250 * time.Millisecond,
	ProbeTimeout:         500 * time.Millisecond,
	IdleAfter:            5 * time.Second,
	MinAttemptBound:      300 * time.Millisecond,
	LagGrace:             250 * time.Millisecond,
}

func (t Timing) withDefaults() Timing {
	d := DefaultTiming
	if t.ProbeInterval <= 0 {
		t.ProbeInterval = d.ProbeInterval
	}
	if t.SuspectProbeInterval <= 0 {
		t.SuspectProbeInterval = d.SuspectProbeInterval
	}
	if t.ProbeTimeout <= 0 {
		t.ProbeTimeout = d.ProbeTimeout
	}
	if t.IdleAfter <= 0 {
		t.IdleAfter = d.IdleAfter
	}
	if t.MinAttemptBound <= 0 {
		t.MinAttemptBound = d.MinAttemptBound
	}
	if t.LagGrace <= 0 {
		t.LagGrace = d.LagGrace
	}
	return t
}

// NewHealth returns an empty Health with the default timing.
func NewHealth() *Health { return NewHealthWithTiming(Timing{}) }

// NewHealthWithTiming returns an empty Health with timing t.
func NewHealthWithTiming(t Timing) *Health {
	return &Health{
		eps:    make(map[string]*endpointState),
		wake:   make(chan struct{}, 1),
		timing: t.withDefaults(),
	}
}

// DownReason says why an endpoint is down.
type DownReason int32

const (
	// Up: the endpoint is not down.
	Up DownReason = iota
	// Silent: a probe went unanswered within its deadline (the member is
	// stopped, unreachable or overloaded).
	Silent
	// NoLeader: the member answered that it has no leader (it is cut off
	// from its peers, or an election is under way).
	NoLeader
	// Lagging: the member has not applied writes that another member had
	// applied at least Timing.LagGrace earlier (it is cut off from its
	// peers but does not know yet, or far behind). Its watches miss those
	// writes, and its linearizable reads wait.
	Lagging
	// StaleTerm: the member names a leader in a raft term older than one
	// in which another member has named a leader since: a leader cut off
	// from its peers that has not noticed yet (it keeps naming itself for
	// up to two election timeouts), or a follower that has not yet heard of
	// the election. Its linearizable reads and its writes wait for a quorum
	// it cannot reach.
	StaleTerm
)

func (r DownReason) String() string {
	switch r {
	case Silent:
		return "silent"
	case NoLeader:
		return "no leader"
	case Lagging:
		return "lagging"
	case StaleTerm:
		return "stale term"
	}
	return "up"
}

// endpointState is the record of one endpoint, keyed by dial target. The
// picker's hot path reads it with atomics only.
type endpointState struct {
	addr       string
	avoidUntil atomic.Int64  // unix ns
	failures   atomic.Int32  // consecutive
	latency    atomic.Int64  // moving average of successful calls, ns
	heard      atomic.Int64  // unix ns of the last answer from the member
	down       atomic.Int32  // DownReason
	member     atomic.Uint64 // the member's ID, once a probe told
	// suspectUntil (unix ns): probe at the suspect pace until then.
	suspectUntil atomic.Int64
	// revs holds when probes first found each store revision of the
	// member, oldest first: the newest change older than LagGrace and all
	// later ones. Guarded by mu.
	revs []revSample

	mu        sync.Mutex
	lastErr   error
	downCh    chan struct{} // closed at the next down verdict
	probing   bool
	nextProbe time.Time // zero: due now
	// noProbeUntil holds probes off a member just removed from the
	// cluster (MemberRemoved), whatever asks for one sooner.
	noProbeUntil time.Time
}

func (h *Health) state(addr string) *endpointState {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.eps[addr]
	if !ok {
		st = &endpointState{addr: addr, downCh: make(chan struct{})}
		h.eps[addr] = st
	}
	return st
}

func (h *Health) lookup(addr string) *endpointState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.eps[addr]
}

// setReady records which endpoints the latest picker can use; only those
// are probed.
func (h *Health) setReady(sts []*endpointState) {
	h.ready.Store(&sts)
	h.poke()
}

// readyStates returns the READY endpoints of the latest picker.
func (h *Health) readyStates() []*endpointState { return loadStates(&h.ready) }

func loadStates(p *atomic.Pointer[[]*endpointState]) []*endpointState {
	if sts := p.Load(); sts != nil {
		return *sts
	}
	return nil
}

// EndpointHealth is a snapshot of one endpoint's record.
type EndpointHealth struct {
	Addr       string
	Avoided    bool
	Down       DownReason
	Failures   int
	LastErr    error
	AvgLatency time.Duration
}

// Endpoint returns the current record of addr.
func (h *Health) Endpoint(addr string) EndpointHealth {
	st := h.state(addr)
	st.mu.Lock()
	lastErr := st.lastErr
	st.mu.Unlock()
	return EndpointHealth{
		Addr:       addr,
		Avoided:    st.avoided(time.Now().UnixNano()),
		Down:       DownReason(st.down.Load()),
		Failures:   int(st.failures.Load()),
		LastErr:    lastErr,
		AvgLatency: time.Duration(st.latency.Load()),
	}
}

// Observe records the outcome of a call to addr that took d.
func (h *Health) Observe(addr string, err error, d time.Duration) {
	h.observe(h.state(addr), err, d, false)
}

func (st *endpointState) avoided(now int64) bool {
	return st.down.Load() != int32(Up) || st.avoidUntil.Load() > now
}

// observe learns from a call to st that ended with err after d. Streams
// teach nothing about latency: they last as long as their owner wants.
func (h *Health) observe(st *endpointState, err error, d time.Duration, stream bool) {
	if err == nil {
		st.heard.Store(time.Now().UnixNano())
		if st.failures.Load() != 0 {
			st.failures.Store(0)
			st.avoidUntil.Store(0)
		}
		if !stream {
			st.latency.Store(ewma(st.latency.Load(), int64(d)))
			h.learnLatency(int64(d))
		}
		return
	}
	if !MarksUnhealthy(err) {
		return
	}
	n := st.failures.Add(1)
	backoff := minAvoid << min(n-1, 4)
	st.avoidUntil.Store(time.Now().Add(min(backoff, maxAvoid)).UnixNano())
	st.mu.Lock()
	st.lastErr = err
	st.mu.Unlock()
	if retry.IsNoLeader(err) {
		h.markDown(st, NoLeader)
	}
	h.probeSoon(st)
}

func ewma(old, v int64) int64 {
	if old == 0 {
		return v
	}
	return old + (v-old)/8
}

// learnLatency updates the client-wide latency estimate the way TCP
// estimates round trips (RFC 6298): a smoothed mean and mean deviation.
// Concurrent updates may lose one another; the estimate stays sound.
func (h *Health) learnLatency(d int64) {
	srtt := h.srtt.Load()
	if srtt == 0 {
		h.srtt.Store(d)
		h.rttvar.Store(d / 2)
		return
	}
	dev := d - srtt
	if dev < 0 {
		dev = -dev
	}
	rttvar := h.rttvar.Load()
	h.rttvar.Store(rttvar + (dev-rttvar)/4)
	h.srtt.Store(srtt + (d-srtt)/8)
}

// AttemptBound is how long an attempt of an idempotent call may run
// before it is watched: twice the client's usual worst latency (smoothed
// mean plus four mean deviations), and at least Timing.MinAttemptBound.
func (h *Health) AttemptBound() time.Duration {
	rto := time.Duration(h.srtt.Load() + 4*h.rttvar.Load())
	return max(h.timing.MinAttemptBound, 2*rto)
}

// MarksUnhealthy reports whether a call failing with err says something
// about the member that served it: it was unreachable, had no leader,
// timed out or was stopped. Errors about the request itself do not.
func MarksUnhealthy(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return true
	}
	return false
}

// markDown records a down verdict for st and tells everyone waiting on
// its down channel. Every verdict closes the channel, even for an
// endpoint already down, so that a stream left on a down endpoint (for
// want of a better one) is asked again whether it can move.
func (h *Health) markDown(st *endpointState, why DownReason) {
	st.down.Store(int32(why))
	st.mu.Lock()
	close(st.downCh)
	st.downCh = make(chan struct{})
	st.mu.Unlock()
}

// markUp records that a probe found st serving with a leader: it is fit
// again, whatever its calls did before.
func (h *Health) markUp(st *endpointState) {
	st.heard.Store(time.Now().UnixNano())
	st.down.Store(int32(Up))
	st.failures.Store(0)
	st.avoidUntil.Store(0)
}

// Down returns a channel that is closed at the next down verdict for
// addr, and the endpoint's current state. A caller on addr that finds it
// down, or is woken, asks HasAlternative whether to move.
func (h *Health) Down(addr string) (<-chan struct{}, DownReason) {
	st := h.state(addr)
	st.mu.Lock()
	ch := st.downCh
	st.mu.Unlock()
	return ch, DownReason(st.down.Load())
}

// HasAlternative reports whether some READY endpoint other than addr is
// not avoided, so that leaving addr is worth it.
func (h *Health) HasAlternative(addr string) bool {
	now := time.Now().UnixNano()
	for _, st := range h.readyStates() {
		if st.addr != addr && !st.avoided(now) {
			return true
		}
	}
	return false
}

// heardSince reports whether addr answered anything after t.
func (h *Health) heardSince(addr string, t int64) bool {
	st := h.lookup(addr)
	return st != nil && st.heard.Load() > t
}

// WatchAttempt is run for an attempt of an idempotent call to addr,
// started at start, that has not been answered within AttemptBound. If
// the member answered nothing since start, it is suspect: avoided by new
// calls until a probe, sent at once, clears it. WatchAttempt calls abandon
// when addr is declared down while another endpoint is fit, so that the
// call is re-sent there. A member that answers probes but is slow to
// answer this call is left to finish it. WatchAttempt returns when ctx
// (the attempt's) ends or after calling abandon.
func (h *Health) WatchAttempt(ctx context.Context, addr string, start time.Time, abandon func()) {
	st := h.state(addr)
	now := time.Now()
	if st.heard.Load() <= start.UnixNano() {
		until := now.Add(h.timing.ProbeTimeout + h.timing.SuspectProbeInterval).UnixNano()
		if st.avoidUntil.Load() < until {
			st.avoidUntil.Store(until)
		}
	}
	// Answering but slow: perhaps cut off from its peers without knowing
	// yet. Probe it at the suspect pace for a while, to hear it first.
	st.suspectUntil.Store(now.Add(3 * h.timing.ProbeInterval).UnixNano())
	h.probeSoon(st)
	for {
		ch, why := h.Down(addr)
		if why != Up && h.HasAlternative(addr) {
			abandon()
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// removedProbePause is how long a member removed through the client is not
// probed: long enough for it to have shut down.
const removedProbePause = 5 * time.Second

// MemberRemoved holds probes off the endpoints of the member with ID id,
// which the client has just removed from the cluster, for
// removedProbePause. A removed member may still answer for a moment, and
// etcd 3.7.3 panics on a Status call in that window ("failed to find local
// ID in cluster members"), killing the process; the official client never
// calls Status, so that must not be this client's doing. Calls still go
// where the picker sends them, and fail over as usual.
func (h *Health) MemberRemoved(id uint64) {
	until := time.Now().Add(removedProbePause)
	h.mu.Lock()
	states := make([]*endpointState, 0, len(h.eps))
	for _, st := range h.eps {
		states = append(states, st)
	}
	h.mu.Unlock()
	for _, st := range states {
		if st.member.Load() == id {
			st.mu.Lock()
			st.noProbeUntil = until
			st.mu.Unlock()
		}
	}
}

// probeSoon asks the prober to probe st now, unless a probe of it is
// under way.
func (h *Health) probeSoon(st *endpointState) {
	st.mu.Lock()
	st.nextProbe = time.Time{}
	st.mu.Unlock()
	// The others go to the suspect pace too: a lag shows only against
	// fresh revisions of the others.
	h.probeAllBy(time.Now().Add(h.timing.SuspectProbeInterval))
	h.poke()
}

// probeAllBy brings the next probe of every READY endpoint forward to soon
// at the latest. It reports whether it moved any.
func (h *Health) probeAllBy(soon time.Time) bool {
	moved := false
	for _, st := range h.readyStates() {
		st.mu.Lock()
		if st.nextProbe.After(soon) {
			st.nextProbe = soon
			moved = true
		}
		st.mu.Unlock()
	}
	return moved
}

// suspicious reports whether some READY endpoint is avoided or suspect:
// every endpoint is then probed at the suspect pace.
func (h *Health) suspicious(now int64) bool {
	for _, st := range h.readyStates() {
		if st.avoided(now) || st.suspectUntil.Load() > now {
			return true
		}
	}
	return false
}

func (h *Health) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// used records a pick for a call or stream (not a probe).
func (h *Health) used(now int64) {
	h.inflight.Add(1)
	h.lastUse.Store(now)
	if h.idle.Load() && h.idle.CompareAndSwap(true, false) {
		h.poke()
	}
}

func (h *Health) inUse(now time.Time) bool {
	return h.inflight.Load() > 0 || now.UnixNano()-h.lastUse.Load() < int64(h.timing.IdleAfter)
}

// leaderView is one probe's view of the leader. Terms compare only within
// one cluster: a client whose endpoints were moved to another cluster
// learns that cluster's leader afresh.
type leaderView struct {
	cluster, id, term uint64
}

// learnLeader records the member behind st and the leader it follows. A
// view from a higher term replaces the current one: a leader cut off from
// the others keeps naming itself for an election timeout after they have
// elected a new one in a later term. A new term brings every probe
// forward, so that the members still in an older one are found out at once
// (staleTerm) rather than at their next probe.
func (h *Health) learnLeader(st *endpointState, rep ProbeReport) {
	if rep.Member != 0 {
		st.member.Store(rep.Member)
	}
	if rep.Leader == 0 {
		return
	}
	for {
		cur := h.leader.Load()
		if cur != nil && cur.cluster == rep.Cluster && (cur.term > rep.Term || cur.id == rep.Leader && cur.term == rep.Term) {
			return
		}
		if h.leader.CompareAndSwap(cur, &leaderView{cluster: rep.Cluster, id: rep.Leader, term: rep.Term}) {
			if cur != nil && cur.cluster == rep.Cluster && rep.Term > cur.term && h.probeAllBy(time.Now()) {
				h.poke()
			}
			return
		}
	}
}

// staleTerm reports whether rep, a member's answer naming a leader, comes
// from a raft term older than the latest in which a member named a leader.
func (h *Health) staleTerm(rep ProbeReport) bool {
	cur := h.leader.Load()
	return cur != nil && cur.cluster == rep.Cluster && rep.Leader != 0 && rep.Term != 0 && rep.Term < cur.term
}

// leaderID returns the ID of the leader as last learned, 0 if unknown.
func (h *Health) leaderID() uint64 {
	if v := h.leader.Load(); v != nil {
		return v.id
	}
	return 0
}

// revSample records that a member was first seen at revision rev at at
// (unix ns).
type revSample struct{ rev, at int64 }

// lagging reports whether st, which a probe just found at revision rev,
// lags: another READY member was already past rev LagGrace ago.
func (h *Health) lagging(st *endpointState, rev int64, now time.Time) bool {
	if rev == 0 {
		return false
	}
	before := now.Add(-h.timing.LagGrace).UnixNano()
	for _, o := range h.readyStates() {
		if o == st || o.down.Load() == int32(Lagging) {
			continue
		}
		if o.revisionAt(before) > rev {
			return true
		}
	}
	return false
}

// revisionAt returns the revision st was known to be at, at t (unix ns);
// 0 if unknown.
func (st *endpointState) revisionAt(t int64) int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	var rev int64
	for _, s := range st.revs {
		if s.at > t {
			break
		}
		rev = s.rev
	}
	return rev
}

// learnRevision records that a probe found st at revision rev at now, and
// forgets what no lag check can need any more.
func (st *endpointState) learnRevision(rev int64, now time.Time, grace time.Duration) {
	if rev == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if n := len(st.revs); n == 0 || rev > st.revs[n-1].rev {
		st.revs = append(st.revs, revSample{rev: rev, at: now.UnixNano()})
	}
	// Keep the newest sample older than the grace window, and the rest.
	before := now.Add(-grace).UnixNano()
	drop := 0
	for drop+1 < len(st.revs) && st.revs[drop+1].at <= before {
		drop++
	}
	if keep := 64; len(st.revs)-drop > keep {
		drop = len(st.revs) - keep
	}
	st.revs = append(st.revs[:0], st.revs[drop:]...)
}
