package clientv3_test

import (
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// Killing the member that carries the keep-alive stream must not cost the
// lease: the stream reopens on another member before the TTL runs out,
// and keeps the lease alive until the member is back and after.
func TestKeepAliveSurvivesTheKillOfItsMember(t *testing.T) {
	const ttl = 3
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	c := newTestClient(t, clus.Endpoints())
	ctx := testCtx(t)
	id := grant(t, c, ttl)
	ch, err := c.KeepAlive(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	first := nextKeepAlive(t, ch)
	m := memberByID(t, clus, first.MemberId)
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}

	// Read renewals for longer than the TTL: had they stopped, the lease
	// would be gone by then.
	until := time.Now().Add(ttl*time.Second + time.Second)
	renewedElsewhere := false
	for time.Now().Before(until) {
		r := nextKeepAlive(t, ch)
		if r.TTL <= 0 {
			t.Fatalf("renewal with TTL %d; want a live lease", r.TTL)
		}
		renewedElsewhere = renewedElsewhere || r.MemberId != m.ID()
	}
	if !renewedElsewhere {
		t.Fatal("no renewal came from another member")
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, ch)
	resp, err := c.TimeToLive(ctx, id)
	if err != nil || resp.TTL <= 0 {
		t.Fatalf("TimeToLive after the fault = %+v, %v; want the lease alive", resp, err)
	}
}

// A member that stops answering (SIGSTOP: its connections stay open) must
// not cost the lease either: the keep-alives go unanswered, the stream
// moves to another member in time, and the lease outlives several TTLs.
func TestKeepAliveSurvivesItsMemberFallingSilent(t *testing.T) {
	const ttl = 3
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	c := newTestClient(t, clus.Endpoints())
	ctx := testCtx(t)
	id := grant(t, c, ttl)
	ch, err := c.KeepAlive(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	first := nextKeepAlive(t, ch)
	m := memberByID(t, clus, first.MemberId)
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Resume() })

	until := time.Now().Add(2 * ttl * time.Second)
	renewedElsewhere := false
	for time.Now().Before(until) {
		r := nextKeepAlive(t, ch)
		if r.TTL <= 0 {
			t.Fatalf("renewal with TTL %d; want a live lease", r.TTL)
		}
		renewedElsewhere = renewedElsewhere || r.MemberId != m.ID()
	}
	if !renewedElsewhere {
		t.Fatal("no renewal came from another member")
	}
	resp, err := c.TimeToLive(ctx, id)
	if err != nil || resp.TTL <= 0 {
		t.Fatalf("TimeToLive with the member stopped = %+v, %v; want the lease alive", resp, err)
	}
}
