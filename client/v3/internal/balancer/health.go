package balancer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/a74b11dd/etcdkit/internal/health"
	"github.com/a74b11dd/etcdkit/internal/latency"
	"github.com/a74b11dd/etcdkit/internal/prober"
	"github.com/a74b11dd/etcdkit/internal/wake"
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

	// probes runs the prober while the client is in use: while a call or
	// stream picked is not done, and for Timing.IdleAfter after.
	probes prober.Loop

	// leader is the leader named by the serving member with the highest
	// raft term, as the probes found it (nil: unknown); writes go there.
	leader atomic.Pointer[leaderView]

	// lat is the client-wide latency of successful unary calls, for the
	// bound after which an attempt is watched.
	lat latency.Estimator

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
	h := &Health{
		eps:    make(map[string]*endpointState),
		timing: t.withDefaults(),
	}
	h.probes.Linger = h.timing.IdleAfter
	return h
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

// endpointState is the record of one endpoint, keyed by dial target: the
// shared health record (down, with its DownReason; the average latency of
// successful calls) and what v3's policies add. The picker's hot path
// reads it with atomics only.
type endpointState struct {
	health.Record
	addr       string
	avoidUntil atomic.Int64  // unix ns
	failures   atomic.Int32  // consecutive
	heard      atomic.Int64  // unix ns of the last answer from the member
	member     atomic.Uint64 // the member's ID, once a probe told
	// suspectUntil (unix ns): probe at the suspect pace until then.
	suspectUntil atomic.Int64
	// revs holds when probes first found each store revision of the
	// member, oldest first: the newest change older than LagGrace and all
	// later ones. Guarded by mu.
	revs []revSample

	downs wake.Broadcast // signalled at every down verdict

	mu        sync.Mutex
	lastErr   error
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
		st = &endpointState{addr: addr}
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
	h.probes.Poke()
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
		Down:       DownReason(st.Down()),
		Failures:   int(st.failures.Load()),
		LastErr:    lastErr,
		AvgLatency: st.Latency.Load(),
	}
}
