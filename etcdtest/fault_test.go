package etcdtest

import (
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestFaultKillAndRestartKeepTheData(t *testing.T) {
	c := NewCluster(t)
	m := c.Members()[0]
	if err := put(timeout(t, 5*time.Second), dial(t, m.Endpoint(), nil), "durable", "yes"); err != nil {
		t.Fatal(err)
	}
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if m.Running() {
		t.Fatal("member still running after Kill")
	}
	if _, err := get(timeout(t, time.Second), dial(t, m.Endpoint(), nil), "durable"); err == nil {
		t.Fatal("a killed member answered a read")
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	got, err := get(timeout(t, 5*time.Second), dial(t, m.Endpoint(), nil), "durable")
	if err != nil || got != "yes" {
		t.Fatalf("after Restart: got %q, %v; want %q", got, err, "yes")
	}
}

func TestFaultStopSilencesTheMemberAndResumeRevivesIt(t *testing.T) {
	c := NewCluster(t)
	m := c.Members()[0]
	conn := dial(t, m.Endpoint(), nil)
	if err := put(timeout(t, 5*time.Second), conn, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := get(timeout(t, 500*time.Millisecond), conn, "k"); !isTimeout(err) {
		t.Fatalf("read from a stopped member: got %v, want a deadline error (silence, not a refusal)", err)
	}
	if !m.Running() {
		t.Fatal("a stopped member should still count as running")
	}
	if err := m.Resume(); err != nil {
		t.Fatal(err)
	}
	if got, err := get(timeout(t, 5*time.Second), conn, "k"); err != nil || got != "v" {
		t.Fatalf("after Resume: got %q, %v; want %q", got, err, "v")
	}
}

// memberLeader asks m directly (not through its proxy) whom it follows.
func memberLeader(t *testing.T, m *Member) uint64 {
	t.Helper()
	st, err := m.status(timeout(t, time.Second))
	if err != nil {
		t.Fatalf("status of %s: %v", m.Name(), err)
	}
	return st.Leader
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFaultIsolatedFollowerLosesItsLeaderWhileTheOthersKeepQuorum(t *testing.T) {
	c := NewCluster(t, WithSize(3))
	leader := c.Leader()
	var follower *Member
	for _, m := range c.Members() {
		if m != leader {
			follower = m
			break
		}
	}
	follower.Isolate()
	waitFor(t, "the isolated follower to lose its leader", 10*time.Second, func() bool { return memberLeader(t, follower) == 0 })

	if err := put(timeout(t, 5*time.Second), dial(t, leader.Endpoint(), nil), "during", "partition"); err != nil {
		t.Fatalf("the majority could not commit a write: %v", err)
	}
	// Clients still reach the isolated member, which cannot serve a
	// linearizable read without a leader.
	if _, err := get(timeout(t, 2*time.Second), dial(t, follower.Endpoint(), nil), "during"); err == nil {
		t.Fatal("an isolated member served a linearizable read")
	}
	if l := c.Leader(); l != leader {
		t.Fatalf("leader changed from %s to %v although it kept quorum", leader.Name(), l)
	}

	follower.Heal()
	waitFor(t, "the healed follower to follow the leader again", 10*time.Second, func() bool { return memberLeader(t, follower) == leader.ID() })
	if got, err := get(timeout(t, 5*time.Second), dial(t, follower.Endpoint(), nil), "during"); err != nil || got != "partition" {
		t.Fatalf("healed follower read: got %q, %v; want %q", got, err, "partition")
	}
}

func TestFaultIsolatedLeaderIsReplaced(t *testing.T) {
	c := NewCluster(t, WithSize(3))
	old := c.Leader()
	old.Isolate()
	waitFor(t, "a new leader among the other two", 15*time.Second, func() bool {
		l := c.Leader()
		return l != nil && l != old
	})
	waitFor(t, "the isolated old leader to step down", 10*time.Second, func() bool { return memberLeader(t, old) != old.ID() })
	old.Heal()
	ctx := timeout(t, 15*time.Second)
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestFaultBlackholeHangsClientConnectionsUntilUnblackholed(t *testing.T) {
	c := NewCluster(t)
	m := c.Members()[0]
	existing := dial(t, m.Endpoint(), nil)
	if err := put(timeout(t, 5*time.Second), existing, "k", "v"); err != nil {
		t.Fatal(err)
	}
	m.Blackhole()
	if _, err := get(timeout(t, 500*time.Millisecond), existing, "k"); !isTimeout(err) {
		t.Fatalf("read on an existing connection to a blackholed member: got %v, want a deadline error", err)
	}
	if _, err := get(timeout(t, 500*time.Millisecond), dial(t, m.Endpoint(), nil), "k"); !isTimeout(err) {
		t.Fatalf("read on a new connection to a blackholed member: got %v, want a deadline error", err)
	}
	// The member itself is unharmed: it serves a client that bypasses the proxy.
	if _, err := get(timeout(t, 5*time.Second), dial(t, m.DirectEndpoint(), nil), "k"); err != nil {
		t.Fatalf("direct read from a blackholed member: %v", err)
	}
	m.Unblackhole()
	if got, err := get(timeout(t, 5*time.Second), existing, "k"); err != nil || got != "v" {
		t.Fatalf("after Unblackhole: got %q, %v; want %q", got, err, "v")
	}
}

func TestFaultDropConnectionsBreaksOpenStreams(t *testing.T) {
	c := NewCluster(t)
	m := c.Members()[0]
	conn := dial(t, m.Endpoint(), nil)
	ctx := timeout(t, 10*time.Second)
	w, err := pb.NewWatchClient(conn).Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: &pb.WatchCreateRequest{Key: []byte("w")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Recv(); err != nil { // the created response
		t.Fatal(err)
	}
	m.DropConnections()
	if _, err := w.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("watch stream after DropConnections: got %v, want Unavailable", err)
	}
	if err := put(timeout(t, 5*time.Second), conn, "after", "drop"); err != nil {
		t.Fatalf("a new request after DropConnections: %v", err)
	}
}

func TestFaultDelayPostponesEveryRequestByAtLeastTheDelay(t *testing.T) {
	c := NewCluster(t)
	m := c.Members()[0]
	conn := dial(t, m.Endpoint(), nil)
	if err := put(timeout(t, 5*time.Second), conn, "k", "v"); err != nil {
		t.Fatal(err)
	}
	const d = 150 * time.Millisecond
	m.SetDelay(d)
	start := time.Now()
	if _, err := get(timeout(t, 5*time.Second), conn, "k"); err != nil {
		t.Fatal(err)
	}
	// Each way is delayed, so a round trip takes at least twice the delay.
	if took := time.Since(start); took < 2*d {
		t.Fatalf("a round trip with a %v delay each way took %v, want at least %v", d, took, 2*d)
	}
	m.SetDelay(0)
}

func TestFaultPeerDelayOnTheLeaderPostponesEveryCommit(t *testing.T) {
	c := NewCluster(t, WithSize(3))
	leader := c.Leader()
	conn := dial(t, leader.Endpoint(), nil)
	if err := put(timeout(t, 5*time.Second), conn, "k", "before"); err != nil {
		t.Fatal(err)
	}
	// Followers' acknowledgements reach the leader through its peer proxy,
	// so no write can commit sooner than the delay.
	const d = 300 * time.Millisecond
	leader.SetPeerDelay(d)
	start := time.Now()
	if err := put(timeout(t, 10*time.Second), conn, "k", "during"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < d {
		t.Fatalf("a write with the leader's inbound peer traffic delayed by %v committed in %v", d, took)
	}
	leader.SetPeerDelay(0)
}
