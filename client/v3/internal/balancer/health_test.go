package balancer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/balancer"
)

// fastTiming makes the prober's clock tick fast enough for unit tests.
var fastTiming = Timing{
	ProbeInterval:        20 * time.Millisecond,
	SuspectProbeInterval: 5 * time.Millisecond,
	ProbeTimeout:         50 * time.Millisecond,
	IdleAfter:            200 * time.Millisecond,
	MinAttemptBound:      10 * time.Millisecond,
	LagGrace:             60 * time.Millisecond,
}

// fakeMembers answers probes as its members are set to behave.
type fakeMembers struct {
	mu      sync.Mutex
	state   map[string]string // "ok", "leaderless", "silent"
	reports map[string]ProbeReport
	probes  map[string]int
	// revisions: when set, members report store revisions that grow with
	// time (1 per ms since start), except those in frozen.
	revisions bool
	start     time.Time
	frozen    map[string]int64
}

func newFakeMembers(addrs ...string) *fakeMembers {
	f := &fakeMembers{state: map[string]string{}, probes: map[string]int{}, reports: map[string]ProbeReport{},
		start: time.Now(), frozen: map[string]int64{}}
	for _, a := range addrs {
		f.state[a] = "ok"
	}
	return f
}

func (f *fakeMembers) set(addr, s string) {
	f.mu.Lock()
	f.state[addr] = s
	f.mu.Unlock()
}

func (f *fakeMembers) count(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.probes[addr]
}

func (f *fakeMembers) probe(ctx context.Context, addr string) (ProbeReport, error) {
	f.mu.Lock()
	f.probes[addr]++
	s := f.state[addr]
	rep := f.reports[addr]
	if f.revisions {
		rep.Revision = int64(time.Since(f.start)/time.Millisecond) + 1
		if r, ok := f.frozen[addr]; ok {
			rep.Revision = r
		}
	}
	f.mu.Unlock()
	switch s {
	case "leaderless":
		return ProbeReport{Result: Leaderless}, nil
	case "silent":
		<-ctx.Done()
		return ProbeReport{}, ctx.Err()
	}
	return rep, nil
}

// report sets what addr's probes say about members and leader.
func (f *fakeMembers) report(addr string, rep ProbeReport) {
	f.mu.Lock()
	f.reports[addr] = rep
	f.mu.Unlock()
}

// runProber starts h's prober over f and returns a function that stops
// it and waits for it.
func runProber(h *Health, f *fakeMembers) (stop func()) {
	h.StartProber(f.probe)
	return h.StopProber
}

// probedInUse returns a Health with fastTiming over fake members that
// report reps (by address), in use and probed until t ends.
func probedInUse(t *testing.T, reps map[string]ProbeReport) (*Health, *fakeMembers) {
	t.Helper()
	h := NewHealthWithTiming(fastTiming)
	var addrs []string
	for a := range reps {
		addrs = append(addrs, a)
	}
	slices.Sort(addrs)
	p, _ := buildPicker(h, addrs...)
	f := newFakeMembers(addrs...)
	for a, rep := range reps {
		f.report(a, rep)
	}
	t.Cleanup(runProber(h, f))
	t.Cleanup(inUse(t, h, p))
	return h, f
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// inUse keeps h in use, as an open stream does, until the returned
// function is called.
func inUse(t *testing.T, h *Health, p balancer.Picker) func() {
	t.Helper()
	_, res := pick(t, p, context.Background())
	return func() { res.Done(balancer.DoneInfo{}) }
}

func TestProbeDeclaresASilentMemberDownAndARecoveredOneUp(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a", "b", "c")
	f := newFakeMembers("a", "b", "c")
	done := inUse(t, h, p)
	defer done()
	defer runProber(h, f)()

	down, _ := h.Down("b")
	f.set("b", "silent")
	select {
	case <-down:
	case <-time.After(5 * time.Second):
		t.Fatal("no down verdict for a member that stopped answering probes")
	}
	if st := h.Endpoint("b"); st.Down != Silent || !st.Avoided {
		t.Fatalf("health of b = %+v, want down (silent) and avoided", st)
	}
	for range 50 {
		if name, res := pick(t, p, context.Background()); name == "b" {
			t.Fatal("picked b while it is down")
		} else {
			res.Done(balancer.DoneInfo{})
		}
	}
	f.set("b", "ok")
	waitFor(t, "b is up again", func() bool { return h.Endpoint("b").Down == Up })
	if h.Endpoint("b").Avoided {
		t.Fatal("b is avoided after a probe found it serving")
	}
}

func TestProbeDeclaresALeaderlessMemberDown(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a", "b")
	f := newFakeMembers("a", "b")
	done := inUse(t, h, p)
	defer done()
	defer runProber(h, f)()

	f.set("a", "leaderless")
	waitFor(t, "a is down", func() bool { return h.Endpoint("a").Down == NoLeader })
	if !h.HasAlternative("a") {
		t.Fatal("HasAlternative(a) = false, want true: b serves")
	}
	if h.HasAlternative("b") {
		t.Fatal("HasAlternative(b) = true, want false: a is down")
	}
}

func TestACallRejectedForWantOfALeaderDeclaresItsMemberDown(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a", "b")
	down, _ := h.Down("a")
	for {
		name, res := pick(t, p, context.Background())
		if name == "a" {
			res.Done(balancer.DoneInfo{Err: rpctypes.ErrGRPCNoLeader})
			break
		}
		res.Done(balancer.DoneInfo{})
	}
	select {
	case <-down:
	default:
		t.Fatal("ErrNoLeader from a call did not close a's down channel")
	}
	h.Observe("a", nil, time.Millisecond)
	if st := h.Endpoint("a"); st.Down != NoLeader || !st.Avoided {
		t.Fatalf("health of a after a later success = %+v; want still down until a probe finds a leader", st)
	}
}

func TestProberStopsProbingWhenTheClientIsIdle(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a")
	f := newFakeMembers("a")
	stop := runProber(h, f)
	defer stop()

	time.Sleep(100 * time.Millisecond)
	if n := f.count("a"); n != 0 {
		t.Fatalf("%d probes of a client never used, want 0", n)
	}
	done := inUse(t, h, p)
	waitFor(t, "a is probed once the client is used", func() bool { return f.count("a") >= 2 })
	done()
	// IdleAfter later, probing stops.
	time.Sleep(fastTiming.IdleAfter + 3*fastTiming.ProbeInterval)
	n := f.count("a")
	time.Sleep(5 * fastTiming.ProbeInterval)
	if m := f.count("a"); m > n+1 {
		t.Fatalf("probes went on while idle: %d, then %d", n, m)
	}
}

func TestWatchAttemptAbandonsOnlyWhenItsMemberIsDownAndAnotherIsFit(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a", "b")
	f := newFakeMembers("a", "b")
	done := inUse(t, h, p)
	defer done()
	defer runProber(h, f)()

	// A slow call on a member that answers probes is left alone.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	var abandoned atomic.Bool
	h.WatchAttempt(ctx, "a", time.Now(), func() { abandoned.Store(true) })
	cancel()
	if abandoned.Load() {
		t.Fatal("abandoned an attempt on a member that answers probes")
	}

	// A silent member is probed at once and the attempt abandoned.
	f.set("a", "silent")
	start := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.WatchAttempt(ctx, "a", start, func() { abandoned.Store(true) })
	if !abandoned.Load() {
		t.Fatal("attempt on a silent member not abandoned")
	}

	// With no other fit endpoint, the attempt stays.
	f.set("b", "silent")
	waitFor(t, "b is down", func() bool { return h.Endpoint("b").Down == Silent })
	abandoned.Store(false)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	h.WatchAttempt(ctx2, "a", time.Now(), func() { abandoned.Store(true) })
	if abandoned.Load() {
		t.Fatal("abandoned an attempt although no endpoint is fit")
	}
}

func TestAttemptBoundFollowsLatencyAboveTheFloor(t *testing.T) {
	h := NewHealthWithTiming(Timing{MinAttemptBound: 500 * time.Millisecond})
	if b := h.AttemptBound(); b != 500*time.Millisecond {
		t.Fatalf("bound with no history = %v, want the 500ms floor", b)
	}
	for range 50 {
		h.Observe("a", nil, time.Millisecond)
	}
	if b := h.AttemptBound(); b != 500*time.Millisecond {
		t.Fatalf("bound after 1ms calls = %v, want the 500ms floor", b)
	}
	for range 50 {
		h.Observe("a", nil, time.Second)
	}
	if b := h.AttemptBound(); b < 2*time.Second {
		t.Fatalf("bound after 1s calls = %v, want at least twice the latency", b)
	}
}

func TestStreamsTeachNoLatency(t *testing.T) {
	h := NewHealth()
	p, _ := buildPicker(h, "a")
	att := &Attempt{}
	att.MarkStream()
	_, res := pick(t, p, WithAttempt(context.Background(), att))
	time.Sleep(20 * time.Millisecond)
	res.Done(balancer.DoneInfo{})
	if l := h.Endpoint("a").AvgLatency; l != 0 {
		t.Fatalf("latency after a stream = %v, want none learned", l)
	}
}

func TestProbePicksAreNotObserved(t *testing.T) {
	h := NewHealth()
	p, _ := buildPicker(h, "a")
	stop := runProber(h, newFakeMembers("a"))
	defer stop()
	_, res := pick(t, p, WithProbe(context.Background()))
	if res.Done != nil {
		res.Done(balancer.DoneInfo{Err: errors.New("x")})
	}
	if h.probes.IsRunning() {
		t.Fatal("a probe pick counts as use of the client: the prober runs")
	}
}

func TestWritesGoToTheLeaderOfTheHighestTerm(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a", "b", "c")
	f := newFakeMembers("a", "b", "c")
	// c still names itself leader in term 2; a and b have elected b in
	// term 3.
	f.report("a", ProbeReport{Member: 1, Leader: 2, Term: 3})
	f.report("b", ProbeReport{Member: 2, Leader: 2, Term: 3})
	f.report("c", ProbeReport{Member: 3, Leader: 3, Term: 2})
	done := inUse(t, h, p)
	defer done()
	defer runProber(h, f)()
	waitFor(t, "every endpoint probed", func() bool { return f.count("a") > 1 && f.count("b") > 1 && f.count("c") > 1 })

	write := func() string {
		att := &Attempt{}
		att.MarkForLeader()
		name, res := pick(t, p, WithAttempt(context.Background(), att))
		res.Done(balancer.DoneInfo{})
		return name
	}
	for range 20 {
		if name := write(); name != "b" {
			t.Fatalf("write picked %s, want b, the leader of term 3", name)
		}
	}
	f.set("b", "silent")
	waitFor(t, "b is down", func() bool { return h.Endpoint("b").Down == Silent })
	seen := map[string]bool{}
	for range 20 {
		seen[write()] = true
	}
	if seen["b"] || seen["c"] || !seen["a"] {
		t.Fatalf("writes with the leader down went to %v, want a only (c is left in an older term)", seen)
	}
}

func TestAMemberLeftInAnOlderTermIsDownUntilItFollowsTheNewLeader(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a", "b", "c")
	f := newFakeMembers("a", "b", "c")
	// c leads term 2; then it is cut off, and a and b elect b in term 3
	// while c still names itself.
	for _, name := range []string{"a", "b", "c"} {
		f.report(name, ProbeReport{Cluster: 7, Member: uint64(name[0]), Leader: 'c', Term: 2})
	}
	done := inUse(t, h, p)
	defer done()
	defer runProber(h, f)()
	waitFor(t, "every endpoint probed", func() bool { return f.count("a") > 1 && f.count("b") > 1 && f.count("c") > 1 })
	if d := h.Endpoint("c").Down; d != Up {
		t.Fatalf("c, the leader of the latest term, is %v; want up", d)
	}
	f.report("a", ProbeReport{Cluster: 7, Member: 'a', Leader: 'b', Term: 3})
	f.report("b", ProbeReport{Cluster: 7, Member: 'b', Leader: 'b', Term: 3})
	waitFor(t, "c declared in a stale term", func() bool { return h.Endpoint("c").Down == StaleTerm })
	for _, name := range []string{"a", "b"} {
		if d := h.Endpoint(name).Down; d != Up {
			t.Errorf("%s, in the latest term, is %v; want up", name, d)
		}
	}
	// Healed: c follows b in term 3.
	f.report("c", ProbeReport{Cluster: 7, Member: 'c', Leader: 'b', Term: 3})
	waitFor(t, "c up again", func() bool { return h.Endpoint("c").Down == Up })
}

func TestTermsOfAnotherClusterAreNotCompared(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a")
	f := newFakeMembers("a")
	f.report("a", ProbeReport{Cluster: 1, Member: 1, Leader: 1, Term: 9})
	done := inUse(t, h, p)
	defer done()
	defer runProber(h, f)()
	waitFor(t, "a probed", func() bool { return f.count("a") > 1 })
	// The endpoint now leads to a younger cluster, in a lower term.
	f.report("a", ProbeReport{Cluster: 2, Member: 5, Leader: 5, Term: 2})
	n := f.count("a")
	waitFor(t, "a probed again", func() bool { return f.count("a") > n+1 })
	if d := h.Endpoint("a").Down; d != Up {
		t.Fatalf("a member of another cluster in term 2 is %v after one in term 9; want up", d)
	}
}

func TestAMemberThatStopsApplyingWritesIsDeclaredLagging(t *testing.T) {
	h := NewHealthWithTiming(fastTiming)
	p, _ := buildPicker(h, "a", "b", "c")
	f := newFakeMembers("a", "b", "c")
	f.revisions = true
	done := inUse(t, h, p)
	defer done()
	defer runProber(h, f)()
	waitFor(t, "every endpoint probed twice", func() bool { return f.count("a") > 2 && f.count("b") > 2 && f.count("c") > 2 })
	if st := h.Endpoint("c"); st.Down != Up {
		t.Fatalf("c keeping up: health %+v, want up", st)
	}

	down, _ := h.Down("c")
	f.mu.Lock()
	f.frozen["c"] = int64(time.Since(f.start) / time.Millisecond)
	f.mu.Unlock()
	select {
	case <-down:
	case <-time.After(5 * time.Second):
		t.Fatal("no down verdict for a member whose revision stopped")
	}
	if st := h.Endpoint("c"); st.Down != Lagging {
		t.Fatalf("c frozen: health %+v, want down (lagging)", st)
	}
	f.mu.Lock()
	delete(f.frozen, "c")
	f.mu.Unlock()
	waitFor(t, "c is up once it caught up", func() bool { return h.Endpoint("c").Down == Up })
}

func TestAMemberRemovedThroughTheClientIsNotProbedForAWhile(t *testing.T) {
	// etcd 3.7.3 panics on a Status call that reaches a member in the
	// moment after its removal; the client never probes it then.
	h, f := probedInUse(t, map[string]ProbeReport{
		"a": {Cluster: 1, Member: 7, Leader: 8, Term: 2},
		"b": {Cluster: 1, Member: 8, Leader: 8, Term: 2},
	})
	waitFor(t, "a's member ID is learned", func() bool { return h.lookup("a").member.Load() == 7 })

	h.MemberRemoved(7)
	time.Sleep(2 * fastTiming.ProbeTimeout) // a probe under way may still finish
	a, b := f.count("a"), f.count("b")
	time.Sleep(10 * fastTiming.ProbeInterval)
	if n := f.count("a") - a; n != 0 {
		t.Errorf("the removed member was probed %d times in %v", n, 10*fastTiming.ProbeInterval)
	}
	if n := f.count("b") - b; n < 3 {
		t.Errorf("the other member was probed %d times in %v; want it probed as usual", n, 10*fastTiming.ProbeInterval)
	}
}
