package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

func TestFailoverWhenPreferredMemberIsKilled(t *testing.T) {
	c := newV2Cluster(t, 3)
	ctx := testCtx(t)
	urls := c.ClientURLs()
	dead, live := urls[0], urls[1:]
	written := key(t, "k")
	if _, err := NewKeysAPI(mustClient(t, live)).Set(ctx, written, "v", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Members()[0].Kill(); err != nil {
		t.Fatal(err)
	}
	// Writes time out while the others elect a leader, if the killed
	// member led; that is the cluster's doing, not the client's.
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("GetSucceedsOnTheSecondAttempt", func(t *testing.T) {
		cl, rec := clientPinnedTo(t, dead, urls, Config{})
		k := NewKeysAPI(cl)
		resp, err := k.Get(ctx, written, nil)
		if err != nil || resp.Node.Value != "v" {
			t.Fatalf("got %+v, %v; want the value from another member", resp, err)
		}
		hosts := attempts(rec, 0)
		if len(hosts) != 2 || hosts[0] != hostOf(t, dead) || hosts[1] == hostOf(t, dead) {
			t.Fatalf("attempts went to %v, want the killed member %s then another", hosts, hostOf(t, dead))
		}
		// The member that answered is now preferred.
		if _, err := k.Get(ctx, written, nil); err != nil {
			t.Fatal(err)
		}
		if got := attempts(rec, 2); !slices.Equal(got, hosts[1:]) {
			t.Fatalf("next call went to %v, want only %v", got, hosts[1:])
		}
	})

	t.Run("WriteIsNotResentAfterItMayHaveLeft", func(t *testing.T) {
		// The killed member's proxy still accepts connections: the
		// request leaves the client, so it may not be sent elsewhere.
		cl, rec := clientPinnedTo(t, dead, urls, Config{})
		// No probes: one that found the killed member down first would
		// spare the write its first attempt, which this test is about
		// (CI saw it happen once).
		impl(cl).prober.loop.Stop()
		k := NewKeysAPI(cl)
		_, err := k.Create(ctx, key(t, "k"), "v")
		if _, ok := err.(*ClusterError); err == nil || ok {
			t.Fatalf("Create: %v (%T); want the attempt's own error, as the official client returns for its one-shot Create", err, err)
		}
		if hosts := attempts(rec, 0); len(hosts) != 1 {
			t.Fatalf("Create was sent to %v, want only the killed member", hosts)
		}
		// The next call starts at the next endpoint.
		if _, err := k.Create(ctx, key(t, "k"), "v"); err != nil {
			t.Fatalf("second Create: %v", err)
		}
	})

	t.Run("WriteIsResentWhenNoConnectionWasMade", func(t *testing.T) {
		// Straight to the members' own ports: the killed one refuses
		// connections, which proves the write never left.
		direct := make([]string, 0, 3)
		for _, m := range c.Members() {
			direct = append(direct, "http://"+m.DirectEndpoint())
		}
		cl, rec := clientPinnedTo(t, direct[0], direct, Config{})
		// No probes: one that found the killed member down first would
		// spare the write its first attempt, which this test is about.
		impl(cl).prober.loop.Stop()
		resp, err := NewKeysAPI(cl).Set(ctx, key(t, "k"), "v2", nil)
		if err != nil || resp.Node.Value != "v2" {
			t.Fatalf("got %+v, %v; want the Set to succeed on the second attempt", resp, err)
		}
		if hosts := attempts(rec, 0); len(hosts) != 2 {
			t.Fatalf("Set was sent to %v, want two attempts", hosts)
		}
		// Create and Delete too, although the official client sends
		// them once: the first attempt never left.
		for _, w := range []struct {
			name string
			call func(KeysAPI) error
		}{
			{"Create", func(k KeysAPI) error { _, err := k.Create(ctx, key(t, "created"), "v"); return err }},
			{"Delete", func(k KeysAPI) error { _, err := k.Delete(ctx, key(t, "created"), nil); return err }},
		} {
			name, call := w.name, w.call
			cl, rec := clientPinnedTo(t, direct[0], direct, Config{})
			impl(cl).prober.loop.Stop()
			if err := call(NewKeysAPI(cl)); err != nil {
				t.Fatalf("%s with the preferred member refusing connections: %v, want success on the next member", name, err)
			}
			if hosts := attempts(rec, 0); len(hosts) != 2 {
				t.Fatalf("%s was sent to %v, want two attempts", name, hosts)
			}
		}
	})
}

func TestFailoverWhenPreferredMemberHangs(t *testing.T) {
	c := newV2Cluster(t, 3)
	ctx := testCtx(t)
	urls := c.ClientURLs()
	hung := c.Members()[0]
	cfg := Config{HeaderTimeoutPerRequest: 300 * time.Millisecond}
	written := key(t, "k")
	if _, err := NewKeysAPI(mustClient(t, urls)).Set(ctx, written, "v", nil); err != nil {
		t.Fatal(err)
	}

	t.Run("GetMovesOnAfterHeaderTimeout", func(t *testing.T) {
		hung.Blackhole()
		defer hung.Unblackhole()
		cl, rec := clientPinnedTo(t, urls[0], urls, cfg)
		resp, err := NewKeysAPI(cl).Get(ctx, written, nil)
		if err != nil || resp.Node.Value != "v" {
			t.Fatalf("got %+v, %v; want the value from another member", resp, err)
		}
		if hosts := attempts(rec, 0); len(hosts) != 2 || hosts[0] != hostOf(t, urls[0]) {
			t.Fatalf("attempts went to %v, want the hung member first, then another", hosts)
		}
	})

	t.Run("WriteThatTimedOutIsNotResent", func(t *testing.T) {
		// The request reaches the member late, and is applied after the
		// client gave up on it; resending it would create a second key.
		hung.SetDelay(time.Second)
		defer hung.SetDelay(0)
		cl, rec := clientPinnedTo(t, urls[0], urls, cfg)
		k := NewKeysAPI(cl)
		_, err := k.CreateInOrder(ctx, key(t, "q"), "once", nil)
		cerr := wantClusterError(t, err, 1)
		var hte *headerTimeoutError
		if !errors.As(cerr.Errors[0], &hte) {
			t.Fatalf("attempt error %v, want a header timeout", cerr.Errors[0])
		}
		if want := "client: endpoint " + urls[0] + " exceeded header timeout"; hte.Error() != want {
			t.Fatalf("header timeout reads %q, want the official %q", hte.Error(), want)
		}
		if hosts := attempts(rec, 0); len(hosts) != 1 {
			t.Fatalf("CreateInOrder was sent to %v, want once", hosts)
		}
		reader := NewKeysAPI(mustClient(t, urls[1:]))
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := reader.Get(ctx, key(t, "q"), &GetOptions{Quorum: true})
			if err == nil && len(resp.Node.Nodes) > 0 {
				if n := len(resp.Node.Nodes); n != 1 {
					t.Fatalf("the directory holds %d keys, want 1", n)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the delayed write never applied: %+v, %v", resp, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func TestClusterErrorWhenAllEndpointsAreDown(t *testing.T) {
	c := newV2Cluster(t, 1)
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	cl, _ := newClient(t, []string{c.ClientURLs()[0], closed}, Config{})
	v, err := cl.GetVersion(ctx)
	if err != nil || v.Server != "3.5.35" {
		t.Fatalf("GetVersion: %+v, %v; want server 3.5.35", v, err)
	}
	if err := c.Members()[0].Kill(); err != nil {
		t.Fatal(err)
	}
	_, err = NewKeysAPI(cl).Get(ctx, "/k", nil)
	cerr := wantClusterError(t, err, 2)
	if !errors.Is(err, ErrClusterUnavailable) {
		t.Errorf("errors.Is(%v, ErrClusterUnavailable) = false, want true", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, context.DeadlineExceeded) = true although the caller's context is alive", err)
	}
	refused := 0
	for _, e := range cerr.Errors {
		if errors.Is(e, syscall.ECONNREFUSED) {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d attempt errors are ECONNREFUSED, want the closed port's:\n%s", refused, cerr.Detail())
	}
	if lines := strings.Count(cerr.Detail(), "\n"); lines != 2 {
		t.Fatalf("Detail has %d lines, want one per attempt:\n%s", lines, cerr.Detail())
	}
}

func TestWatcherSurvivesFailoverWithoutLosingEvents(t *testing.T) {
	c := newV2Cluster(t, 3)
	ctx := testCtx(t)
	urls := c.ClientURLs()
	cl, rec := clientPinnedTo(t, urls[0], urls, Config{HeaderTimeoutPerRequest: time.Second})
	writer := NewKeysAPI(mustClient(t, urls[1:]))
	w := NewKeysAPI(cl).Watcher(key(t, ""), &WatcherOptions{Recursive: true})

	// Kill the member while the poll waits on it, then write: the watch
	// resumes on another member from where the first poll started.
	polling := make(chan struct{})
	var once sync.Once
	wctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotFirstResponseByte: func() { once.Do(func() { close(polling) }) },
	})
	type result struct {
		resp *Response
		err  error
	}
	next := make(chan result, 1)
	go func() {
		r, err := w.Next(wctx)
		next <- result{r, err}
	}()
	select {
	case <-polling:
	case <-ctx.Done():
		t.Fatal("the watch never reached a member")
	}
	if err := c.Members()[0].Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for _, name := range []string{"a", "b", "c"} {
		resp, err := writer.Set(ctx, key(t, name), "v", nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, resp.Node.ModifiedIndex)
	}
	first := <-next
	if first.err != nil {
		t.Fatal(first.err)
	}
	got := []uint64{first.resp.Node.ModifiedIndex}
	for len(got) < len(want) {
		ev, err := w.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Node.ModifiedIndex)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("watched indexes %v, want %v", got, want)
	}
	if hosts := rec.sent(); hosts[0] != hostOf(t, urls[0]) || slices.Contains(hosts[len(hosts)-1:], hostOf(t, urls[0])) {
		t.Fatalf("polls went to %v, want the killed member first and others after", hosts)
	}
}

func TestPrioritizeLeaderFollowsLeaderChange(t *testing.T) {
	c := newV2Cluster(t, 3)
	ctx := testCtx(t)
	cl, rec := newClient(t, c.ClientURLs(), Config{SelectionMode: EndpointSelectionPrioritizeLeader})
	k := NewKeysAPI(cl)

	leaderNow := func() *etcdtest.Member {
		t.Helper()
		l, err := c.WaitLeader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// syncAndGet checks that after a Sync reads go to the leader. A member
	// that failed a health probe during the election is avoided until a
	// probe passes again (a few hundred milliseconds; longer on a loaded
	// machine, whence the generous bound), so the reads may
	// reach the leader only after that; and a young cluster may still
	// change leaders, so a check during which the leader changed is made
	// again.
	syncAndGet := func() *etcdtest.Member {
		t.Helper()
		for {
			want := leaderNow()
			if err := cl.Sync(ctx); err != nil {
				t.Fatalf("Sync: %v", err)
			}
			if got := cl.Endpoints(); len(got) != 3 {
				t.Fatalf("Sync left endpoints %v, want the 3 members'", got)
			}
			var got []string
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				n := len(rec.sent())
				if _, err := k.Get(ctx, "/", nil); err != nil {
					t.Fatal(err)
				}
				if got = attempts(rec, n); slices.Equal(got, []string{hostOf(t, want.ClientURL())}) {
					break
				}
			}
			if leaderNow() != want {
				continue
			}
			if !slices.Equal(got, []string{hostOf(t, want.ClientURL())}) {
				st := impl(cl).state.Load()
				var health []string
				for i, ep := range st.eps {
					health = append(health, fmt.Sprintf("%s down=%v latency=%v pinned=%v", ep.raw, ep.h.IsDown(), time.Duration(ep.h.Latency.Load()), i == st.pinned))
				}
				t.Fatalf("Gets for 10 s after a Sync went to %v, want the leader %s; endpoints: %v", got, want.ClientURL(), health)
			}
			return want
		}
	}

	first := syncAndGet()
	if err := first.Kill(); err != nil {
		t.Fatal(err)
	}
	if second := syncAndGet(); second == first {
		t.Fatal("the killed leader still leads")
	}
}

func TestAutoSyncReturnsTheContextsError(t *testing.T) {
	cl, _ := newClient(t, shared.ClientURLs(), Config{})
	ctx, cancel := context.WithTimeout(testCtx(t), 300*time.Millisecond)
	defer cancel()
	if err := cl.AutoSync(ctx, 50*time.Millisecond); err != context.DeadlineExceeded {
		t.Fatalf("got %v, want context.DeadlineExceeded itself", err)
	}
	if got := cl.Endpoints(); len(got) != 3 {
		t.Fatalf("after AutoSync, endpoints %v, want the 3 members'", got)
	}
}

// testState returns an endpoint list of n endpoints preferring pinned, with
// the endpoints in down marked down.
func testState(n, pinned int, down ...int) *endpointState {
	eps := make([]endpoint, n)
	for i := range eps {
		eps[i] = endpoint{raw: string(rune('a' + i)), h: newRecord()}
	}
	for _, k := range down {
		eps[k].h.markDown()
	}
	return &endpointState{eps: eps, pinned: pinned}
}

func wantPick(t *testing.T, st *endpointState, tried []uint64, retry bool, want int) {
	t.Helper()
	got, ok := pick(st, tried, retry)
	switch {
	case want < 0 && ok:
		t.Fatalf("pick chose endpoint %d, want none", got)
	case want >= 0 && (!ok || got != want):
		t.Fatalf("pick chose %d (ok %v), want %d", got, ok, want)
	}
}

func TestPickKeepsThePreferredEndpointWhileItIsHealthy(t *testing.T) {
	wantPick(t, testState(3, 1), make([]uint64, 3), false, 1)
}

func TestPickSkipsUnhealthyEndpointsInOrder(t *testing.T) {
	wantPick(t, testState(3, 1, 1, 2), make([]uint64, 3), false, 0)
}

func TestPickTriesUnhealthyEndpointsWhenAllAreUnhealthy(t *testing.T) {
	st := testState(3, 1, 0, 1, 2)
	tried := make([]uint64, 3)
	for _, want := range []int{1, 2, 0, -1} {
		wantPick(t, st, tried, false, want)
		if want >= 0 {
			tried[want] = st.eps[want].h.Recoveries() + 1
		}
	}
}

func TestPickReturnsToARecoveredEndpointOnlyOnRetry(t *testing.T) {
	st := testState(2, 0, 0, 1)
	tried := []uint64{1, 1} // both tried while down
	wantPick(t, st, tried, true, -1)
	c := &httpClusterClient{}
	c.markUp(st.eps[1].h)
	wantPick(t, st, tried, false, -1)
	wantPick(t, st, tried, true, 1)
	if got := c.recoveries.Load(); got != 1 {
		t.Fatalf("recoveries = %d, want 1", got)
	}
}

func TestPickLeavesASlowPreferredEndpointForTheFastestHealthyOne(t *testing.T) {
	st := testState(3, 0)
	for k, d := range []time.Duration{300 * time.Millisecond, 40 * time.Millisecond, 5 * time.Millisecond} {
		st.eps[k].h.Latency.Observe(d)
	}
	wantPick(t, st, make([]uint64, 3), false, 2)

	// Jitter among fast members keeps the preferred one.
	st.eps[0].h.Latency.Store(20 * time.Millisecond)
	wantPick(t, st, make([]uint64, 3), false, 0)
}

func TestPickKeepsASlowLeaderTheUserAskedFor(t *testing.T) {
	// In PrioritizeLeader mode the preferred endpoint is the leader a Sync
	// found: slowness does not move reads off it, only ill health does.
	st := testState(3, 0)
	st.leader = true
	for k, d := range []time.Duration{300 * time.Millisecond, 40 * time.Millisecond, 5 * time.Millisecond} {
		st.eps[k].h.Latency.Observe(d)
	}
	wantPick(t, st, make([]uint64, 3), false, 0)
	st.eps[0].h.markDown()
	wantPick(t, st, make([]uint64, 3), false, 1)
}

func TestPrioritizeLeaderReturnsToTheLeaderOnceItRecovers(t *testing.T) {
	// A read made while the leader a Sync chose looks unhealthy (here: as
	// when it failed a probe during an election) is served by a follower;
	// once the leader passes a probe again, reads go back to it without
	// waiting for the next Sync.
	ctx := testCtx(t)
	cl, rec := newClient(t, shared.ClientURLs(), Config{SelectionMode: EndpointSelectionPrioritizeLeader})
	k := NewKeysAPI(cl)
	if err := cl.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	st := impl(cl).state.Load()
	lead := st.eps[st.pinned]
	leadHost := hostOf(t, lead.raw)

	// The prober may find the leader healthy again between markDown and
	// the Get's pick: a Get that went to the leader counts only if the
	// leader was still down after it, and is tried again otherwise.
	for try := 1; ; try++ {
		lead.h.markDown()
		n := len(rec.sent())
		if _, err := k.Get(ctx, "/", nil); err != nil {
			t.Fatal(err)
		}
		got := attempts(rec, n)
		if len(got) == 1 && got[0] != leadHost {
			break
		}
		if len(got) != 1 || lead.h.IsDown() || try == 5 {
			t.Fatalf("with the leader marked down, the Get went to %v, want one follower", got)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); lead.h.IsDown(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the leader passed no probe within 10 s")
		}
		if _, err := k.Get(ctx, "/", nil); err != nil { // keeps the prober running
			t.Fatal(err)
		}
	}
	n := len(rec.sent())
	if _, err := k.Get(ctx, "/", nil); err != nil {
		t.Fatal(err)
	}
	if got := attempts(rec, n); !slices.Equal(got, []string{leadHost}) {
		t.Fatalf("after the leader recovered, the Get went to %v, want the leader %s", got, leadHost)
	}
}

func TestPlainReadMovesOffAMemberBehindWhatTheClientHasSeen(t *testing.T) {
	c := newV2Cluster(t, 3)
	ctx := testCtx(t)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lagging := c.Members()[0]
	if lagging == leader {
		lagging = c.Members()[1]
	}
	cl, rec := newClient(t, []string{leader.ClientURL()}, Config{})
	// No probes: the probe would find the isolated member down first,
	// and this test is about what the replies themselves tell.
	impl(cl).prober.loop.Stop()
	k := NewKeysAPI(cl)
	if _, err := k.Set(ctx, key(t, "k"), "old", nil); err != nil {
		t.Fatal(err)
	}
	// Wait until the member to isolate has the old value.
	for {
		resp, err := NewKeysAPI(mustClient(t, []string{lagging.ClientURL()})).Get(ctx, key(t, "k"), nil)
		if err == nil && resp.Node.Value == "old" {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the follower never caught up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	lagging.Isolate()
	defer lagging.Heal()
	if _, err := k.Set(ctx, key(t, "k"), "new", nil); err != nil {
		t.Fatal(err)
	}
	urls := []string{lagging.ClientURL(), leader.ClientURL()}
	for cl.Endpoints()[0] != lagging.ClientURL() {
		if err := cl.SetEndpoints(urls); err != nil {
			t.Fatal(err)
		}
	}
	n := len(rec.sent())
	resp, err := k.Get(ctx, key(t, "k"), nil)
	if err != nil || resp.Node.Value != "new" {
		t.Fatalf("got %+v, %v; want the value this client wrote", resp, err)
	}
	want := []string{hostOf(t, lagging.ClientURL()), hostOf(t, leader.ClientURL())}
	if got := attempts(rec, n); !slices.Equal(got, want) {
		t.Fatalf("the Get went to %v, want the lagging member, then the leader", got)
	}
}

func TestQuorumReadsAreSentOnceWhileTheClientWrites(t *testing.T) {
	// Writes that complete while a read is in flight raise what the client
	// has seen; a reply that predates them is current all the same and
	// must not send the read on to another member.
	tr := &getCounter{recorder: newRecorder(t)}
	cl, err := New(Config{Endpoints: shared.ClientURLs(), Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	k := NewKeysAPI(cl)
	ctx := testCtx(t)
	if _, err := k.Set(ctx, key(t, "r"), "v", nil); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var writers sync.WaitGroup
	stopWriters := sync.OnceFunc(func() {
		close(stop)
		writers.Wait()
	})
	defer stopWriters()
	for w := range 4 {
		writers.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := k.Set(ctx, key(t, fmt.Sprintf("w%d-%d", w, n)), "v", nil); err != nil {
					t.Errorf("Set: %v", err)
					return
				}
			}
		})
	}
	const reads = 200
	tr.gets.Store(0)
	for range reads {
		if _, err := k.Get(ctx, key(t, "r"), &GetOptions{Quorum: true}); err != nil {
			t.Fatalf("quorum Get: %v", err)
		}
	}
	stopWriters()
	if got := tr.gets.Load(); got != reads {
		t.Fatalf("%d quorum Gets sent %d requests; want one each", reads, got)
	}
}

// getCounter counts the GET requests sent, health probes excepted.
type getCounter struct {
	*recorder
	gets atomic.Int64
}

func (g *getCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Path != "/health" {
		g.gets.Add(1)
	}
	return g.recorder.RoundTrip(req)
}

func TestWriteAfterThePinnedLeaderIsKilledWaitsForTheNextLeader(t *testing.T) {
	// Sent to a follower before the cluster noticed, the write would be
	// forwarded to the dead leader and never answered, and could not be
	// sent again. After the failure the client checks a member's health
	// before writing to it, so the write waits, unsent, for a new leader.
	ctx, leader, k := keysPinnedToTheLeader(t, Config{})
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	// The first call after the kill fails on the dead leader and shows
	// the client the failure: a plain read, which a follower then serves
	// from its own store at once, while the others still elect.
	if _, err := k.Get(ctx, key(t, "before"), nil); err != nil {
		t.Fatalf("Get after the leader was killed: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := k.Set(wctx, key(t, "after"), "v", nil)
	if err != nil {
		t.Fatalf("Set after the leader was killed: %v after %v; want it held until a leader serves it", err, time.Since(start))
	}
	t.Logf("the Set took %v", time.Since(start))
	got, err := k.Get(ctx, key(t, "after"), &GetOptions{Quorum: true})
	if err != nil || got.Node.ModifiedIndex != resp.Node.ModifiedIndex {
		t.Fatalf("Get after the Set = %+v, %v; want the node the Set wrote (index %d)", got, err, resp.Node.ModifiedIndex)
	}
}

func TestWritesWhileTheLeaderIsCutOffWaitOnlyForTheElection(t *testing.T) {
	// The pinned leader is cut off from its peers: the write in flight on
	// it can only fail (it may be applied later, so it is not re-sent),
	// and the next ones find every member failing its health check until
	// the others elect a leader. They must then go to it, even when it
	// recovered while the write was still checking the other members.
	ctx, leader, k := keysPinnedToTheLeader(t, Config{HeaderTimeoutPerRequest: time.Second})
	leader.Isolate()
	defer leader.Heal()
	var failed []error
	for until := time.Now().Add(5 * time.Second); time.Now().Before(until); {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		start := time.Now()
		_, err := k.Set(wctx, key(t, "w"), "v", nil)
		cancel()
		took := time.Since(start)
		if err == nil {
			continue
		}
		failed = append(failed, err)
		var ce *ClusterError
		var maybe *maybeAppliedError
		if !errors.As(err, &ce) || len(ce.Errors) == 0 || !errors.As(ce.Errors[len(ce.Errors)-1], &maybe) || len(failed) > 1 {
			t.Fatalf("write %d failed after %v: %v; want only the write in flight at the fault to fail, as maybe applied", len(failed), took, err)
		}
	}
	if _, err := k.Get(ctx, key(t, "w"), &GetOptions{Quorum: true}); err != nil {
		t.Fatalf("quorum Get after the writes: %v", err)
	}
}

// keysPinnedToTheLeader starts a 3-member v2 cluster of the test's own and
// returns its leader and a KeysAPI whose client, made with cfg, prefers the
// leader and has written through it once.
func keysPinnedToTheLeader(t *testing.T, cfg Config) (context.Context, *etcdtest.Member, KeysAPI) {
	t.Helper()
	c := newV2Cluster(t, 3)
	ctx := testCtx(t)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := clientPinnedTo(t, leader.ClientURL(), c.ClientURLs(), cfg)
	k := NewKeysAPI(cl)
	if _, err := k.Set(ctx, key(t, "before"), "v", nil); err != nil {
		t.Fatal(err)
	}
	return ctx, leader, k
}
