package clientv3_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// keepAliveFault is a lease of ttl seconds kept alive on a 3-member
// cluster of the test's own, and the member serving its keep-alive stream.
type keepAliveFault struct {
	clus   *etcdtest.Cluster
	cli    *clientv3.Client
	ctx    context.Context
	id     clientv3.LeaseID
	ch     <-chan *clientv3.LeaseKeepAliveResponse
	member *etcdtest.Member
}

func startKeepAliveFault(t *testing.T, ttl int64) *keepAliveFault {
	t.Helper()
	f := &keepAliveFault{clus: etcdtest.NewCluster(t, etcdtest.WithSize(3)), ctx: ctxT(t)}
	f.cli = newClientAt(t, f.clus.Endpoints())
	f.id = grant(t, f.cli, ttl)
	ch, err := f.cli.KeepAlive(f.ctx, f.id)
	if err != nil {
		t.Fatal(err)
	}
	f.ch = ch
	f.member = memberByID(t, f.clus, nextKeepAlive(t, ch).MemberId)
	return f
}

// renewFor reads renewals for d and fails t unless every one kept the
// lease alive and some came from a member other than the struck one.
func (f *keepAliveFault) renewFor(t *testing.T, d time.Duration) {
	t.Helper()
	until := time.Now().Add(d)
	renewedElsewhere := false
	for time.Now().Before(until) {
		r := nextKeepAlive(t, f.ch)
		if r.TTL <= 0 {
			t.Fatalf("renewal with TTL %d; want a live lease", r.TTL)
		}
		renewedElsewhere = renewedElsewhere || r.MemberId != f.member.ID()
	}
	if !renewedElsewhere {
		t.Fatal("no renewal came from another member")
	}
}

// leaseAlive fails t unless the server says the lease is alive.
func (f *keepAliveFault) leaseAlive(t *testing.T, when string) {
	t.Helper()
	resp, err := f.cli.TimeToLive(f.ctx, f.id)
	if err != nil || !leaseAlive(resp) {
		t.Fatalf("TimeToLive %s: TTL %d, %v; want the lease alive", when, ttlOf(resp), err)
	}
}

// Killing the member that carries the keep-alive stream must not cost the
// lease: the stream reopens on another member before the TTL runs out,
// and keeps the lease alive until the member is back and after.
func TestKeepAliveSurvivesTheKillOfItsMember(t *testing.T) {
	const ttl = 3
	f := startKeepAliveFault(t, ttl)
	if err := f.member.Kill(); err != nil {
		t.Fatal(err)
	}
	// Read renewals for longer than the TTL: had they stopped, the lease
	// would be gone by then.
	f.renewFor(t, ttl*time.Second+time.Second)
	if err := f.member.Restart(); err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, f.ch)
	f.leaseAlive(t, "after the fault")
}

// A member that stops answering (SIGSTOP: its connections stay open) must
// not cost the lease either: the keep-alives go unanswered, the stream
// moves to another member in time, and the lease outlives several TTLs.
func TestKeepAliveSurvivesItsMemberFallingSilent(t *testing.T) {
	const ttl = 3
	f := startKeepAliveFault(t, ttl)
	if err := f.member.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.member.Resume() })
	f.renewFor(t, 2*ttl*time.Second)
	f.leaseAlive(t, "with the member stopped")
}

// When the member carrying the keep-alive stream is the leader and dies,
// the keep-alives resume as soon as the others have elected a new leader:
// the stream reopens on a member that still believes in the dead leader,
// which holds the renewals until the election is over, and they are
// answered then. A lease must be renewed within its TTL of the last
// renewal, and the election has already taken one to two seconds of that.
func TestKeepAliveResumesRightAfterAnElection(t *testing.T) {
	const ttl = 5
	f := startKeepAliveFault(t, ttl)
	if err := f.clus.MoveLeader(f.ctx, f.member); err != nil {
		t.Fatalf("moving the leadership to the keep-alive's member: %v", err)
	}
	if l := theLeader(t, f.clus); l != f.member {
		t.Fatalf("leader %s, want the keep-alive's member %s", l.Name(), f.member.Name())
	}
	f.renewedRightAfterALeader(t, "killing the leader", func() { must(t, "Kill", f.member.Kill()) })
}

// When the cluster gets a leader back after a while without one (quorum
// lost, then restored), the keep-alives resume with it: the renewals held
// by the surviving member are answered once there is a leader again.
func TestKeepAliveResumesRightAfterQuorumReturns(t *testing.T) {
	const ttl = 20 // outlives the outage: the client presumes nothing
	f := startKeepAliveFault(t, ttl)
	var others []*etcdtest.Member
	for _, m := range f.clus.Members() {
		if m != f.member {
			others = append(others, m)
		}
	}
	for _, m := range others {
		must(t, "Kill", m.Kill())
	}
	// Without a leader for longer than the keep-alives' silence allowance
	// and an election.
	time.Sleep(6 * time.Second)
	f.renewedRightAfterALeader(t, "restarting a member", func() { must(t, "Restart", others[0].Restart()) })
}

// renewedRightAfterALeader runs act, waits for the cluster to have a
// leader, and fails t unless a renewal received after act began came
// within a second of the test seeing the leader (WaitLeader polls, so the
// renewal may come first). Then it checks the lease is alive, and closes
// the client.
func (f *keepAliveFault) renewedRightAfterALeader(t *testing.T, what string, act func()) {
	t.Helper()
	for len(f.ch) > 0 {
		<-f.ch
	}
	renewed := make(chan time.Time, 1)
	go func() {
		for range f.ch {
			select {
			case renewed <- time.Now():
			default:
			}
		}
		close(renewed)
	}()
	start := time.Now()
	act()
	if _, err := f.clus.WaitLeader(f.ctx); err != nil {
		t.Fatal(err)
	}
	elected := time.Now()
	const bound = time.Second
	select {
	case at, ok := <-renewed:
		if !ok {
			t.Fatal("keep-alive channel closed; want a renewal")
		}
		t.Logf("%s: a leader seen after %v, the first renewal after %v", what, elected.Sub(start), at.Sub(start))
	case <-time.After(time.Until(elected.Add(bound))):
		t.Fatalf("%s: no renewal within %v of the leader being seen (%v after)", what, bound, elected.Sub(start))
	}
	f.leaseAlive(t, "after "+what)
	f.cli.Close()
	for range renewed {
	}
}

// A keep-alive request is sent once per stream: while its answer is on its
// way (800 ms here, longer than the 500 ms after which the official lessor
// asks again), the lease is not asked again. Requests asked again pile up
// at a slow member ahead of other leases' renewals: with 10,000 leases on
// a follower they delayed renewals past the TTL and lost leases.
func TestAKeepAliveIsNotSentAgainWhileItsAnswerIsOnTheWay(t *testing.T) {
	clus := etcdtest.NewCluster(t)
	cli := newClientAt(t, clus.Endpoints())
	lc, l := countedLease(t, cli, nil)
	ctx := ctxT(t)
	id := grant(t, l, 6)
	ch, err := l.KeepAlive(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, ch)
	m := clus.Members()[0]
	m.SetDelay(400 * time.Millisecond) // each way
	defer m.SetDelay(0)
	before := lc.sent.Load()
	const renewals = 3
	for range renewals {
		if r := nextKeepAlive(t, ch); r.TTL <= 0 {
			t.Fatalf("renewal with TTL %d; want a live lease", r.TTL)
		}
	}
	// The next renewal is due a third of the TTL (2 s) after the last.
	if sent := lc.sent.Load() - before; sent > renewals {
		t.Fatalf("%d keep-alive requests sent for %d renewals; want one each", sent, renewals)
	}
}

// A follower forwards each renewal to the leader on its own and answers
// them one by one; the keep-alive stream goes to the leader instead, and
// follows the leadership when it moves, without the lease lapsing.
func TestKeepAliveStreamRenewsAtTheLeaderAndFollowsTheLeadership(t *testing.T) {
	const ttl = 6 // a renewal every 2 s
	clus := startCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli := newClientAt(t, clus.Endpoints())
	id := grant(t, cli, ttl)
	ch, err := cli.KeepAlive(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	leader, err := clus.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	renewedBy(t, ch, leader, "the leader")
	next := clus.NextMember(leader)
	if err := clus.MoveLeader(ctx, next); err != nil {
		t.Fatal(err)
	}
	renewedBy(t, ch, next, "the new leader")
	resp, err := cli.TimeToLive(ctx, id)
	if err != nil || !leaseAlive(resp) {
		t.Fatalf("TimeToLive after the move: TTL %d, %v; want the lease alive", ttlOf(resp), err)
	}
}

// renewedBy reads renewals until one comes from m, failing t if the lease
// lapses or none of them comes from m within the time a stream takes to
// settle (5 s) and a round of renewals.
func renewedBy(t *testing.T, ch <-chan *clientv3.LeaseKeepAliveResponse, m *etcdtest.Member, who string) {
	t.Helper()
	until := time.Now().Add(waitTimeout)
	var from []uint64
	for time.Now().Before(until) {
		r := nextKeepAlive(t, ch)
		if r.TTL <= 0 {
			t.Fatalf("renewal with TTL %d; want a live lease", r.TTL)
		}
		if r.MemberId == m.ID() {
			return
		}
		from = append(from, r.MemberId)
	}
	t.Fatalf("no renewal from %s (%x) within %v; they came from %x", who, m.ID(), waitTimeout, from)
}

// A keep-alive made with WithRequireLeader ends when its member has no
// leader; the lease it kept must then expire, since its caller was told it
// is lost. (The official client goes on renewing it, unseen.)
func TestALeaseWhoseRequireLeaderKeepAliveEndedIsNoLongerRenewed(t *testing.T) {
	const ttl = 3
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	cli := newClientAt(t, clus.Endpoints())
	ctx := ctxT(t)
	id := grant(t, cli, ttl)
	ch, err := cli.KeepAlive(clientv3.WithRequireLeader(ctx), id)
	if err != nil {
		t.Fatal(err)
	}
	kept := memberByID(t, clus, nextKeepAlive(t, ch).MemberId)
	var others []*etcdtest.Member
	for _, m := range clus.Members() {
		if m != kept {
			others = append(others, m)
			must(t, "Kill", m.Kill())
		}
	}
	closed := time.After(20 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-closed:
			t.Fatal("the require-leader keep-alive was still open 20 s after quorum was lost")
		}
	}
	for _, m := range others {
		must(t, "Restart", m.Restart())
	}
	if _, err := clus.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	// A new leader extends every lease by an election timeout; past that
	// and the TTL the lease must be gone.
	deadline := time.Now().Add(3*ttl*time.Second + 5*time.Second)
	for {
		resp, err := cli.TimeToLive(ctx, id)
		if err == nil && !leaseAlive(resp) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease still alive (TTL %d, %v) long after its keep-alive ended; it is being renewed", ttlOf(resp), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A KeepAliveOnce answered by etcd itself with an error (here: no
// leader, quorum lost) returns that error, as the official client does,
// instead of trying again until its context ends.
func TestKeepAliveOnceReturnsEtcdsOwnErrorAtOnce(t *testing.T) {
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	m := clus.Members()
	cli := newClientAt(t, []string{m[0].Endpoint()})
	ctx := ctxT(t)
	id := grant(t, cli, 30)
	for _, other := range m[1:] {
		must(t, "Kill", other.Kill())
	}
	// Until the member notices it has no leader, a renewal may still be
	// answered or time out on the server; then the answer is ErrNoLeader.
	deadline := time.Now().Add(20 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		start := time.Now()
		_, err := cli.KeepAliveOnce(cctx, id)
		cancel()
		if err == rpctypes.ErrNoLeader {
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("KeepAliveOnce took %v to return ErrNoLeader; want it at once", took)
			}
			return
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("KeepAliveOnce with quorum lost ran to its deadline; want etcd's ErrNoLeader, as the official client returns")
		}
		if time.Now().After(deadline) {
			t.Fatalf("KeepAliveOnce with quorum lost: %v; want ErrNoLeader", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
