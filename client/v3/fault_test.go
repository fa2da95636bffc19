package clientv3_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// These tests break one member of a 3-member cluster of their own while a
// client works on it, and check what the client promises through any
// single-member fault:
//   - no idempotent call fails (linearizable Gets, each with a deadline of
//     maxStall: on a loaded machine an election alone can take 5 s);
//   - a watch delivers every event exactly once, in order;
//   - a kept-alive lease stays alive;
//   - no stall is unbounded: the longest gap between two successful reads
//     stays under maxStall. (The real figures are measured in bench/; the
//     tests only log them.)
// The watch and the keep-alive are placed on the member that the fault
// strikes, so that they have to move.

// maxStall is the longest gap between two successful reads a fault may
// cause before the test calls it a hang.
const maxStall = 10 * time.Second

// faultCase describes one fault: which member it strikes, what it does to
// it and how long, and how it ends.
type faultCase struct {
	victim func(t *testing.T, clus *etcdtest.Cluster) *etcdtest.Member
	fault  func(t *testing.T, clus *etcdtest.Cluster, m *etcdtest.Member)
	hold   time.Duration
	heal   func(t *testing.T, clus *etcdtest.Cluster, m *etcdtest.Member)
}

// memberIn returns the member of clus in role r, once it has a leader.
func memberIn(t *testing.T, clus *etcdtest.Cluster, r etcdtest.Role) *etcdtest.Member {
	t.Helper()
	m, err := clus.MemberIn(ctxT(t), r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func aFollower(t *testing.T, clus *etcdtest.Cluster) *etcdtest.Member {
	return memberIn(t, clus, etcdtest.Follower)
}

func theLeader(t *testing.T, clus *etcdtest.Cluster) *etcdtest.Member {
	return memberIn(t, clus, etcdtest.Leader)
}

// strike is the faultCase of one of etcdtest's faults on the member in
// role r, held for 3 s.
func strike(r etcdtest.Role, f etcdtest.Fault) faultCase {
	return faultCase{
		victim: func(t *testing.T, clus *etcdtest.Cluster) *etcdtest.Member { return memberIn(t, clus, r) },
		fault:  func(t *testing.T, _ *etcdtest.Cluster, m *etcdtest.Member) { must(t, f.Name, f.Strike(m)) },
		hold:   3 * time.Second,
		heal:   func(t *testing.T, _ *etcdtest.Cluster, m *etcdtest.Member) { must(t, "heal "+f.Name, f.Heal(m)) },
	}
}

func TestFaultStoppedMember(t *testing.T) { runFault(t, strike(etcdtest.Follower, etcdtest.Stop)) }

func TestFaultBlackholedMember(t *testing.T) {
	runFault(t, strike(etcdtest.Follower, etcdtest.Blackhole))
}

func TestFaultIsolatedFollower(t *testing.T) {
	runFault(t, strike(etcdtest.Follower, etcdtest.Isolate))
}

func TestFaultIsolatedLeader(t *testing.T) { runFault(t, strike(etcdtest.Leader, etcdtest.Isolate)) }

// The leader is the harder member to lose: an election follows.
func TestFaultKilledLeader(t *testing.T) { runFault(t, strike(etcdtest.Leader, etcdtest.Kill)) }

func TestFaultLeaderMoved(t *testing.T) {
	runFault(t, faultCase{
		victim: theLeader,
		fault: func(t *testing.T, clus *etcdtest.Cluster, m *etcdtest.Member) {
			must(t, "move leader", clus.MoveLeader(ctxT(t), clus.NextMember(m)))
		},
		hold: 2 * time.Second,
	})
}

func TestFaultRollingRestart(t *testing.T) {
	runFault(t, faultCase{
		victim: func(t *testing.T, clus *etcdtest.Cluster) *etcdtest.Member { return clus.Members()[0] },
		fault: func(t *testing.T, clus *etcdtest.Cluster, _ *etcdtest.Member) {
			for _, m := range clus.Members() {
				must(t, "restart "+m.Name(), m.Restart())
				time.Sleep(time.Second)
			}
		},
	})
}

// faultFigures is what one run measured.
type faultFigures struct {
	reads, readFailures int64
	firstReadErr        atomic.Value
	maxReadGap          atomic.Int64 // ns
	writes              int
	maxWatchGap         time.Duration
	maxKeepAliveGap     atomic.Int64 // ns
	keepAliveClosed     atomic.Bool
}

func storeMax(v *atomic.Int64, d time.Duration) {
	for {
		old := v.Load()
		if int64(d) <= old || v.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

func runFault(t *testing.T, fc faultCase) {
	clus := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	victim := fc.victim(t, clus)
	prefix := keyPrefix(t) + "/"
	readKey := keyPrefix(t) + "-read"
	readCli := newClientAt(t, clus.Endpoints())
	if _, err := readCli.Put(ctx, readKey, "v"); err != nil {
		t.Fatal(err)
	}
	wch := watchOn(t, ctx, clus, victim, prefix)
	leaseCli, lease, kch := keepAliveOn(t, ctx, clus, victim)
	writeCli := newClientAt(t, clus.Endpoints())

	var fig faultFigures
	watched := collectWatch(ctx, wch)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, readFailures atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := time.Now()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cctx, ccancel := context.WithTimeout(ctx, maxStall)
				_, err := readCli.Get(cctx, readKey)
				ccancel()
				if err != nil {
					readFailures.Add(1)
					fig.firstReadErr.CompareAndSwap(nil, err)
					continue
				}
				reads.Add(1)
				now := time.Now()
				storeMax(&fig.maxReadGap, now.Sub(last))
				last = now
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	writes := make(chan int, 1)
	go func() {
		n := 0
		defer func() { writes <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if !createOnce(ctx, writeCli, fmt.Sprintf("%s%05d", prefix, n), "v") {
				return
			}
			n++
			time.Sleep(10 * time.Millisecond)
		}
	}()
	kaDone := make(chan struct{})
	go func() {
		defer close(kaDone)
		last := time.Now()
		for range kch {
			now := time.Now()
			storeMax(&fig.maxKeepAliveGap, now.Sub(last))
			last = now
		}
		fig.keepAliveClosed.Store(true)
	}()

	time.Sleep(time.Second)
	fc.fault(t, clus, victim)
	time.Sleep(fc.hold)
	if fc.heal != nil {
		fc.heal(t, clus, victim)
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	fig.writes = <-writes
	fig.reads, fig.readFailures = reads.Load(), readFailures.Load()

	evs, maxGap := watched.wait(t, fig.writes)
	fig.maxWatchGap = maxGap
	if fig.keepAliveClosed.Load() {
		t.Error("the keep-alive channel closed during the fault; want the lease kept alive")
	}
	ttl, err := leaseCli.TimeToLive(ctx, lease)
	if err != nil || !leaseAlive(ttl) {
		t.Errorf("TimeToLive after the fault: TTL %d, %v; want the lease alive", ttlOf(ttl), err)
	}

	if fig.readFailures != 0 {
		t.Errorf("%d of %d Gets failed (first: %v); want none", fig.readFailures, fig.reads+fig.readFailures, fig.firstReadErr.Load())
	}
	if g := time.Duration(fig.maxReadGap.Load()); g > maxStall {
		t.Errorf("longest gap between successful reads %v; want under %v", g, maxStall)
	}
	for i, ev := range evs {
		if want := fmt.Sprintf("%s%05d", prefix, i); string(ev.Kv.Key) != want {
			t.Fatalf("event %d is %q; want %q (events lost, repeated or reordered)", i, ev.Kv.Key, want)
		}
		if i > 0 && ev.Kv.ModRevision <= evs[i-1].Kv.ModRevision {
			t.Fatalf("event %d at revision %d after %d; want increasing revisions", i, ev.Kv.ModRevision, evs[i-1].Kv.ModRevision)
		}
	}
	t.Logf("reads %d, longest read gap %v; writes %d; longest watch gap %v; longest keep-alive gap %v",
		fig.reads, time.Duration(fig.maxReadGap.Load()).Round(time.Millisecond), fig.writes,
		fig.maxWatchGap.Round(time.Millisecond), time.Duration(fig.maxKeepAliveGap.Load()).Round(time.Millisecond))
	cancel()
	<-kaDone
}

// watchOn returns a watch of prefix, from a client of every member, that
// the member m serves.
func watchOn(t *testing.T, ctx context.Context, clus *etcdtest.Cluster, m *etcdtest.Member, prefix string) clientv3.WatchChan {
	t.Helper()
	for range 30 {
		// The member first, so that its connection tends to be up
		// before the others' when the stream is opened.
		cli := newClientAt(t, append([]string{m.Endpoint()}, otherEndpoints(clus, m)...))
		wctx, wcancel := context.WithCancel(ctx)
		wch := cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
		if r := next(t, wch); r.Header.GetMemberId() == m.ID() {
			t.Cleanup(wcancel)
			return wch
		}
		wcancel()
		cli.Close()
	}
	t.Fatalf("no watch landed on member %s", m.Name())
	return nil
}

// keepAliveOn grants a lease and keeps it alive from a client whose
// keep-alive stream the member m serves. The client's stream goes to the
// leader it knows of, so a follower's client is given every member but the
// leader: the stream then lands on either follower, and can move to the
// other when m fails.
func keepAliveOn(t *testing.T, ctx context.Context, clus *etcdtest.Cluster, m *etcdtest.Member) (*clientv3.Client, clientv3.LeaseID, <-chan *clientv3.LeaseKeepAliveResponse) {
	t.Helper()
	eps := []string{m.Endpoint()}
	leader := clus.Leader()
	for _, o := range clus.Members() {
		if o != m && (o != leader || leader == nil) {
			eps = append(eps, o.Endpoint())
		}
	}
	for range 30 {
		cli := newClientAt(t, eps)
		id := grant(t, cli, 5)
		kctx, kcancel := context.WithCancel(ctx)
		ch, err := cli.KeepAlive(kctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r := nextKeepAlive(t, ch); r.MemberId == m.ID() {
			t.Cleanup(kcancel)
			return cli, id, ch
		}
		kcancel()
		cli.Revoke(ctx, id)
		cli.Close()
	}
	t.Fatalf("no keep-alive stream landed on member %s", m.Name())
	return nil, 0, nil
}

// watchLog collects a watch's events as they arrive.
type watchLog struct {
	mu      sync.Mutex
	evs     []*clientv3.Event
	err     error
	closed  bool
	maxGap  time.Duration
	changed chan struct{} // closed and replaced on every change
}

// collectWatch reads wch until it closes or ctx ends.
func collectWatch(ctx context.Context, wch clientv3.WatchChan) *watchLog {
	l := &watchLog{changed: make(chan struct{})}
	go func() {
		last := time.Now()
		for {
			var wr clientv3.WatchResponse
			var ok bool
			select {
			case wr, ok = <-wch:
			case <-ctx.Done():
				return
			}
			l.mu.Lock()
			switch {
			case !ok:
				l.closed = true
			case wr.Err() != nil:
				l.err = wr.Err()
			case len(wr.Events) > 0:
				now := time.Now()
				l.maxGap = max(l.maxGap, now.Sub(last))
				last = now
				l.evs = append(l.evs, wr.Events...)
			}
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
			if !ok {
				return
			}
		}
	}()
	return l
}

// wait returns the first n events and the longest wait between two
// responses that carried events, failing t if they do not come.
func (l *watchLog) wait(t *testing.T, n int) ([]*clientv3.Event, time.Duration) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		evs, err, closed, gap, changed := l.evs, l.err, l.closed, l.maxGap, l.changed
		l.mu.Unlock()
		switch {
		case err != nil:
			t.Fatalf("watch error after %d events: %v", len(evs), err)
		case len(evs) > n:
			t.Fatalf("watch delivered %d events; want %d", len(evs), n)
		case len(evs) == n:
			return evs, gap
		case closed:
			t.Fatalf("watch channel closed after %d of %d events", len(evs), n)
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("watch delivered %d of %d events", len(evs), n)
		}
	}
}

// A linearizable read must never return a value older than one a write
// already completed with, even through a member cut off from the others;
// it may fail instead. (A serializable read there may be stale: that is
// what serializable means.)
func TestLinearizableGetThroughAnIsolatedMemberIsNeverStale(t *testing.T) {
	clus := startCluster(t, 3)
	victim := aFollower(t, clus)
	k := keyPrefix(t)
	writer := newClientAt(t, otherEndpoints(clus, victim))
	pinned := newClientAt(t, []string{victim.Endpoint()})
	ctx := ctxT(t)
	if _, err := writer.Put(ctx, k, "0"); err != nil {
		t.Fatal(err)
	}
	if _, err := pinned.Get(ctx, k); err != nil {
		t.Fatal(err)
	}
	victim.Isolate()
	defer victim.Heal()

	var ok, failed, stale int
	for i := 1; i <= 12; i++ {
		put, err := writer.Put(ctx, k, fmt.Sprint(i))
		if err != nil {
			t.Fatalf("put %d on the majority: %v", i, err)
		}
		if ser, err := pinned.Get(ctx, k, clientv3.WithSerializable()); err == nil && len(ser.Kvs) == 1 && ser.Kvs[0].ModRevision < put.Header.Revision {
			stale++
		}
		gctx, gcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		get, err := pinned.Get(gctx, k)
		gcancel()
		if err != nil {
			failed++
			continue
		}
		ok++
		if len(get.Kvs) != 1 || get.Kvs[0].ModRevision < put.Header.Revision {
			t.Errorf("linearizable Get after put %d (revision %d) through the isolated member = %v; want that write or a later one", i, put.Header.Revision, get.Kvs)
		}
	}
	t.Logf("through the isolated member: %d linearizable Gets answered, %d failed; %d serializable Gets stale", ok, failed, stale)
}

func TestWriteAfterTheLeaderIsKilledWaitsForTheNextLeader(t *testing.T) {
	// Sent to a follower while the cluster has not yet noticed, a write
	// would be forwarded to the dead leader and never answered; held, it
	// goes to the next leader once one is elected.
	_, cli, ctx, leader := clientWritingToTheLeader(t)
	must(t, "Kill", leader.Kill())
	// Let the client see the leader's connection close.
	time.Sleep(200 * time.Millisecond)

	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := cli.Put(wctx, key(t, "k"), "v")
	if err != nil {
		t.Fatalf("Put after the leader was killed: %v after %v; want it held until a new leader serves it", err, time.Since(start))
	}
	t.Logf("the Put took %v", time.Since(start))
	if resp.Header.MemberId == leader.ID() {
		t.Fatalf("the Put was answered by the killed leader %x", leader.ID())
	}
	got, err := cli.Get(ctx, key(t, "k"))
	must(t, "Get", err)
	if len(got.Kvs) != 1 || got.Kvs[0].Version != 1 {
		t.Fatalf("after one Put the key has %v; want version 1", got.Kvs)
	}
}

func TestAWritePendingOnALeaderCutOffGetsTheMembersOwnAnswerAndIsNeverResent(t *testing.T) {
	// The write cannot commit while its leader is cut off, yet may commit
	// later (the member may win the next election with it in its log), as
	// the official client would then see: the client waits for the
	// member's own answer, which comes when the member's request timeout
	// passes (about 7 s with etcd's default timing), and never sends the
	// write again.
	_, cli, ctx, leader := clientWritingToTheLeader(t)
	leader.Isolate()
	healed := false
	defer func() {
		if !healed {
			leader.Heal()
		}
	}()

	k := key(t, "k")
	wctx, cancel := context.WithTimeout(ctx, 12*time.Second)
	defer cancel()
	start := time.Now()
	_, putErr := cli.Put(wctx, k, "v")
	t.Logf("the Put ended after %v with %v", time.Since(start), putErr)
	if putErr != nil && wctx.Err() != nil {
		t.Fatalf("Put on a leader cut off from its peers: no answer within 12 s (%v); want the member's own answer", putErr)
	}
	leader.Heal()
	healed = true
	// Writes go on through the new leader, and the pending one was applied
	// at most once.
	if _, err := cli.Put(ctx, key(t, "after"), "v"); err != nil {
		t.Fatalf("Put after the leader was cut off: %v", err)
	}
	got, err := cli.Get(ctx, k)
	must(t, "Get", err)
	if len(got.Kvs) > 1 || (len(got.Kvs) == 1 && got.Kvs[0].Version != 1) {
		t.Fatalf("after one Put the key has %v; want it absent or at version 1", got.Kvs)
	}
	if putErr == nil && len(got.Kvs) != 1 {
		t.Fatalf("the Put succeeded but the key is absent")
	}
}

// clientWritingToTheLeader starts a 3-member cluster of the test's own and
// returns it with a client whose writes have reached its leader.
func clientWritingToTheLeader(t *testing.T) (*etcdtest.Cluster, *clientv3.Client, context.Context, *etcdtest.Member) {
	t.Helper()
	clus := startCluster(t, 3)
	cli := newClientOf(t, clus)
	ctx := ctxT(t)
	leader := theLeader(t, clus)
	writeUntilTheLeaderAnswers(t, ctx, cli, leader)
	return clus, cli, ctx, leader
}

// writeUntilTheLeaderAnswers writes until a write of cli's is answered by
// leader: until a probe names the leader, writes go to any member.
func writeUntilTheLeaderAnswers(t *testing.T, ctx context.Context, cli *clientv3.Client, leader *etcdtest.Member) {
	t.Helper()
	for {
		resp, err := cli.Put(ctx, key(t, "warm"), "v")
		must(t, "Put", err)
		if resp.Header.MemberId == leader.ID() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAWriteWithoutADeadlineEndsWhenTheClusterHasNoQuorum(t *testing.T) {
	// With the leader and a follower dead, the last member never gets a
	// leader. A write is held while the leader is out of reach, but for
	// 3 s per call in all (however many attempts), then refused by the
	// leaderless member: a call without a deadline ends with an error
	// after waiting 7 s for a leader (retry.MaxNoLeaderTime).
	clus, cli, _, leader := clientWritingToTheLeader(t)
	must(t, "Kill", leader.Kill())
	for _, m := range clus.Members() {
		if m != leader {
			must(t, "Kill", m.Kill())
			break
		}
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := cli.Put(context.Background(), key(t, "k"), "v")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, rpctypes.ErrNoLeader) && !errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail) {
			t.Fatalf("Put without a deadline returned %v after %v; want ErrNoLeader or ErrTimeoutDueToLeaderFail", err, time.Since(start))
		}
		t.Logf("the Put returned %v after %v", err, time.Since(start))
	case <-time.After(maxStall):
		t.Fatalf("Put without a deadline still pending %v after quorum was lost", maxStall)
	}

	// A call with a deadline past that bound waits as long as it allows:
	// the caller said how long a leader may take.
	const deadline = retry.MaxNoLeaderTime + time.Second
	gctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start = time.Now()
	_, err := cli.Get(gctx, key(t, "k"))
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took < deadline-100*time.Millisecond {
		t.Fatalf("Get with a %v deadline returned %v after %v; want context.DeadlineExceeded at the deadline", deadline, err, took)
	}
}

func TestAMemberWithoutALeaderStillServesSerializableReadsAndWatches(t *testing.T) {
	// Serializable reads and watches are what a member without a leader
	// may still serve from its own state, as with the official client; the
	// require-leader mark the client puts on other calls must not take
	// that away, for a Get, a Txn of serializable Gets, nor a watch
	// without WithRequireLeader.
	clus := startCluster(t, 3)
	cli := newClientOf(t, clus)
	ctx := ctxT(t)
	k := key(t, "k")
	put(t, cli, k, "v")
	var alive *etcdtest.Member
	for i, m := range clus.Members() {
		if i < 2 {
			must(t, "Kill", m.Kill())
		} else {
			alive = m
		}
	}
	// Wait until the survivor knows it has no leader, so that the reads
	// below meet a leaderless member, not one that still believes.
	deadline := time.Now().Add(maxStall)
	for {
		st, err := cli.Status(ctx, alive.ClientURL())
		if err == nil && st.Leader == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the surviving member still names a leader after %v (last status %v, %v)", maxStall, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	get, err := cli.Get(ctx, k, clientv3.WithSerializable())
	if err != nil || len(get.Kvs) != 1 {
		t.Fatalf("serializable Get without a leader: %v, %v; want the key", get, err)
	}
	txn, err := cli.Txn(ctx).Then(clientv3.OpGet(k, clientv3.WithSerializable())).Commit()
	if err != nil || len(txn.Responses) != 1 || len(txn.Responses[0].GetResponseRange().Kvs) != 1 {
		t.Fatalf("Txn of a serializable Get without a leader: %v, %v; want the key", txn, err)
	}
	select {
	case wr, ok := <-cli.Watch(ctx, k, clientv3.WithRev(1)):
		if !ok || wr.Err() != nil || len(wr.Events) != 1 || string(wr.Events[0].Kv.Value) != "v" {
			t.Fatalf("watch from revision 1 without a leader: %v (open %v); want the key's put", wr, ok)
		}
	case <-ctx.Done():
		t.Fatal("a watch without WithRequireLeader delivered nothing from a member without a leader")
	}
	rctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), 5*time.Second)
	defer cancel()
	if _, err := cli.Get(rctx, k, clientv3.WithSerializable()); !errors.Is(err, rpctypes.ErrNoLeader) {
		t.Fatalf("serializable Get with WithRequireLeader and no leader: %v; want ErrNoLeader", err)
	}
}
