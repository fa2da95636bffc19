package concurrency_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

func leaderValue(t *testing.T, ctx context.Context, e *concurrency.Election) string {
	t.Helper()
	resp, err := e.Leader(ctx)
	if err != nil {
		t.Fatalf("Leader: %v", err)
	}
	return string(resp.Kvs[0].Value)
}

// nextValue returns the next leader value observed, failing the test if
// the channel closes or ctx ends first.
func nextValue(t *testing.T, ctx context.Context, ch <-chan *clientv3.GetResponse) string {
	t.Helper()
	select {
	case resp, ok := <-ch:
		if !ok {
			t.Fatal("Observe channel closed")
		}
		return string(resp.Kvs[0].Value)
	case <-ctx.Done():
		t.Fatal("no leader observed before the deadline")
	}
	return ""
}

func TestElectionCampaignProclaimResignAndObserve(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "election"

	observer := concurrency.NewElection(newSession(t, cli), pfx)
	if _, err := observer.Leader(ctx); !errors.Is(err, concurrency.ErrElectionNoLeader) {
		t.Fatalf("Leader of an empty election: error %v, want ErrElectionNoLeader", err)
	}
	octx, ocancel := context.WithCancel(ctx)
	defer ocancel()
	observed := observer.Observe(octx)

	e1 := concurrency.NewElection(newSession(t, cli), pfx)
	if err := e1.Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if got := nextValue(t, ctx, observed); got != "one" {
		t.Errorf("observed %q, want one", got)
	}
	if e1.Key() == "" || e1.Rev() == 0 || e1.Header() == nil {
		t.Errorf("leader Key=%q Rev=%d Header=%v, want them set", e1.Key(), e1.Rev(), e1.Header())
	}

	e2 := concurrency.NewElection(newSession(t, cli), pfx)
	won := make(chan error, 1)
	go func() { won <- e2.Campaign(ctx, "two") }()

	if err := e1.Proclaim(ctx, "one again"); err != nil {
		t.Fatal(err)
	}
	if got := nextValue(t, ctx, observed); got != "one again" {
		t.Errorf("observed %q after Proclaim, want %q", got, "one again")
	}
	if got := leaderValue(t, ctx, observer); got != "one again" {
		t.Errorf("Leader = %q, want %q", got, "one again")
	}
	select {
	case err := <-won:
		t.Fatalf("second candidate won (err %v) while the first leads", err)
	default:
	}

	if err := e1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-won; err != nil {
		t.Fatalf("second Campaign after the leader resigned: %v", err)
	}
	if got := nextValue(t, ctx, observed); got != "two" {
		t.Errorf("observed %q after resignation, want two", got)
	}
	if err := e1.Proclaim(ctx, "usurp"); !errors.Is(err, concurrency.ErrElectionNotLeader) {
		t.Errorf("Proclaim by a resigned leader: error %v, want ErrElectionNotLeader", err)
	}

	ocancel()
	for range observed {
	}
}

func TestElectionFailsOverWhenTheLeadersSessionIsLost(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "election"

	s1 := newSession(t, cli)
	e1 := concurrency.NewElection(s1, pfx)
	if err := e1.Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	e2 := concurrency.NewElection(newSession(t, cli), pfx)
	won := make(chan error, 1)
	go func() { won <- e2.Campaign(ctx, "two") }()

	if _, err := sharedcluster.Client(t).Revoke(ctx, s1.Lease()); err != nil {
		t.Fatal(err)
	}
	if err := <-won; err != nil {
		t.Fatalf("Campaign after the leader's lease was revoked: %v", err)
	}
	if got := leaderValue(t, ctx, e2); got != "two" {
		t.Errorf("leader = %q, want two", got)
	}
	if err := e1.Proclaim(ctx, "zombie"); !errors.Is(err, concurrency.ErrElectionNotLeader) {
		t.Errorf("Proclaim by the lost leader: error %v, want ErrElectionNotLeader", err)
	}
}

func TestCampaignReturnsErrSessionExpiredWhenTheLeaseEndsWhileWaiting(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "election"

	e1 := concurrency.NewElection(newSession(t, cli), pfx)
	if err := e1.Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	s2 := newSession(t, cli)
	e2 := concurrency.NewElection(s2, pfx)
	won := make(chan error, 1)
	go func() { won <- e2.Campaign(ctx, "two") }()
	queued(t, ctx, cli, pfx, 2)

	if _, err := cli.Revoke(ctx, s2.Lease()); err != nil {
		t.Fatal(err)
	}
	if err := e1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-won; !errors.Is(err, concurrency.ErrSessionExpired) {
		t.Fatalf("Campaign of a candidate whose lease was revoked: error %v, want ErrSessionExpired", err)
	}
	if _, err := e1.Leader(ctx); !errors.Is(err, concurrency.ErrElectionNoLeader) {
		t.Errorf("Leader after both left: error %v, want ErrElectionNoLeader", err)
	}
}

func TestCanceledCampaignWithdrawsTheCandidate(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "election"
	e1 := concurrency.NewElection(newSession(t, cli), pfx)
	if err := e1.Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	e2 := concurrency.NewElection(newSession(t, cli), pfx)
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := e2.Campaign(cctx, "two"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Campaign with a short deadline: error %v, want DeadlineExceeded", err)
	}
	if err := e1.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e1.Leader(ctx); !errors.Is(err, concurrency.ErrElectionNoLeader) {
		t.Errorf("Leader after the leader resigned and the other withdrew: error %v, want ErrElectionNoLeader", err)
	}
}

func TestResumeElectionTakesBackLeadership(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "election"
	s := newSession(t, cli)
	e := concurrency.NewElection(s, pfx)
	if err := e.Campaign(ctx, "before restart"); err != nil {
		t.Fatal(err)
	}
	resumed := concurrency.ResumeElection(s, pfx, e.Key(), e.Rev())
	if err := resumed.Proclaim(ctx, "after restart"); err != nil {
		t.Fatalf("Proclaim on a resumed election: %v", err)
	}
	if got := leaderValue(t, ctx, resumed); got != "after restart" {
		t.Errorf("leader = %q, want %q", got, "after restart")
	}
	if err := resumed.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	// Unlike the official resumed election, whose prefix loses its "/",
	// ours campaigns again under the same prefix as every other candidate.
	if err := resumed.Campaign(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	if want := pfx + "/"; !strings.HasPrefix(resumed.Key(), want) || resumed.Key() != e.Key() {
		t.Errorf("key of a resumed election's new campaign = %q, want %q (the session's key under %q)", resumed.Key(), e.Key(), want)
	}
}

func TestCampaignReportsTheHeaderOfItsQueuingTransaction(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	e := concurrency.NewElection(newSession(t, cli), sharedcluster.Prefix(t)+"election")
	if err := e.Campaign(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	if e.Header().Revision != e.Rev() {
		t.Errorf("Header().Revision = %d after an uncontended Campaign, want Rev() %d, as the official client reports", e.Header().Revision, e.Rev())
	}
}

func TestObserveReportsTheFirstLeaderAsOfItsCreationWithNoCount(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "election"
	octx, ocancel := context.WithCancel(ctx)
	defer ocancel()
	observed := concurrency.NewElection(newSession(t, cli), pfx).Observe(octx)
	// Let the observer find the election empty and start watching.
	time.Sleep(200 * time.Millisecond)
	e := concurrency.NewElection(newSession(t, cli), pfx)
	if err := e.Campaign(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	var resp *clientv3.GetResponse
	select {
	case resp = <-observed:
	case <-ctx.Done():
		t.Fatal("no leader observed")
	}
	if resp.Count != 0 || resp.Header.Revision != resp.Kvs[0].ModRevision {
		t.Errorf("observed Count %d, header revision %d; want 0 and the leader's revision %d, as the official client sends", resp.Count, resp.Header.Revision, resp.Kvs[0].ModRevision)
	}
	ocancel()
	for range observed {
	}
}

// TestElectionSurvivesTheLossOfTheEtcdLeader kills the etcd leader of a
// three-member cluster while a candidate waits; the waiting candidate and
// an observer must carry on through the remaining members.
func TestElectionSurvivesTheLossOfTheEtcdLeader(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	ctx := sharedcluster.Context(t)
	cli := sharedcluster.ClientOf(t, c.Endpoints())
	pfx := "election"

	e1 := concurrency.NewElection(newSession(t, cli), pfx)
	if err := e1.Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	observer := concurrency.NewElection(newSession(t, cli), pfx)
	octx, ocancel := context.WithCancel(ctx)
	defer ocancel()
	observed := observer.Observe(octx)
	if got := nextValue(t, ctx, observed); got != "one" {
		t.Fatalf("observed %q, want one", got)
	}

	e2 := concurrency.NewElection(newSession(t, cli), pfx)
	won := make(chan error, 1)
	go func() { won <- e2.Campaign(ctx, "two") }()
	queued(t, ctx, cli, pfx, 2)

	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e1.Resign(ctx); err != nil {
		t.Fatalf("Resign with the etcd leader down: %v", err)
	}
	if err := <-won; err != nil {
		t.Fatalf("Campaign across the etcd leader's loss: %v", err)
	}
	if got := nextValue(t, ctx, observed); got != "two" {
		t.Errorf("observed %q after failover, want two", got)
	}
	ocancel()
	for range observed {
	}
}

// An observer whose watch comes back after a fault to a history compacted
// meanwhile reads the election again and goes on; the official Observe
// closes its channel then.
func TestAnObserverCarriesOnThroughACompactionOfTheLeadersHistory(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	ctx := sharedcluster.Context(t)
	m := c.Members()
	leaderCli := sharedcluster.ClientOf(t, []string{m[0].Endpoint()})
	observerCli := sharedcluster.ClientOf(t, []string{m[2].Endpoint()})
	pfx := "election"

	e := concurrency.NewElection(newSession(t, leaderCli), pfx)
	if err := e.Campaign(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	octx, ocancel := context.WithCancel(ctx)
	defer ocancel()
	observed := concurrency.NewElection(newSession(t, observerCli), pfx).Observe(octx)
	if got := nextValue(t, ctx, observed); got != "one" {
		t.Fatalf("observed %q, want one", got)
	}

	// A watch from the first leader's revision, on the observer's stream:
	// it must come back compacted, or the fault proved nothing.
	control := observerCli.Watch(ctx, "control", clientv3.WithRev(e.Rev()+1))

	m[2].Blackhole()
	if err := e.Proclaim(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	// Two writes: a compaction at the first would keep a watch from the
	// revision after the proclamation.
	var rev int64
	for range 2 {
		resp, err := leaderCli.Put(ctx, "unrelated", "x")
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	if _, err := leaderCli.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	// The observer's connection is closed, not resumed: its watches are
	// made again, once its member has applied the compaction.
	m[2].DropConnections()
	direct := sharedcluster.ClientOf(t, []string{m[2].DirectEndpoint()})
	for {
		_, err := direct.Get(ctx, "unrelated", clientv3.WithRev(rev-1), clientv3.WithSerializable())
		if errors.Is(err, rpctypes.ErrCompacted) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the observer's member never applied the compaction at %d: %v", rev, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m[2].Unblackhole()

	if got := nextValue(t, ctx, observed); got != "two" {
		t.Errorf("observed %q after the compaction, want two", got)
	}
	select {
	case wr := <-control:
		if !errors.Is(wr.Err(), rpctypes.ErrCompacted) {
			t.Fatalf("the control watch came back with %+v; want ErrCompacted, or the observer's watch was never compacted", wr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the control watch did not come back compacted: the observer's watch was never compacted")
	}
	ocancel()
	for range observed {
	}
}
