package concurrency_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

func TestSessionKeepsItsLeaseAlivePastTheTTL(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	s := newSession(t, cli, concurrency.WithTTL(2))

	time.Sleep(4 * time.Second) // twice the TTL: only renewals keep it
	resp, err := cli.TimeToLive(ctx, s.Lease())
	if err != nil {
		t.Fatal(err)
	}
	// etcd rounds the seconds left down: 0 is a live lease renewed about a
	// second ago, -1 one that has expired.
	if resp.TTL < 0 {
		t.Fatalf("lease TTL = %d after 4s with TTL 2s, want >= 0 (not renewed)", resp.TTL)
	}
	if isDone(s.Done()) {
		t.Fatal("session Done while its lease is alive")
	}
}

func TestSessionEndsWhenItsLeaseIsRevokedElsewhere(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	// A short TTL makes the renewals, which discover the revocation,
	// frequent.
	s := newSession(t, cli, concurrency.WithTTL(3))

	other := sharedcluster.Client(t)
	if _, err := other.Revoke(ctx, s.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("session still running after its lease was revoked")
	}
	if s.Ctx().Err() == nil {
		t.Error("session Ctx not canceled after the session ended")
	}
}

func TestSessionOrphanStopsRenewalButKeepsTheLease(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	s, err := concurrency.NewSession(cli)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Revoke(ctx, s.Lease())

	s.Orphan()
	if !isDone(s.Done()) {
		t.Fatal("Done not closed after Orphan returned")
	}
	resp, err := cli.TimeToLive(ctx, s.Lease())
	if err != nil {
		t.Fatal(err)
	}
	if resp.TTL < 0 { // -1: expired; 0: alive, under a second left
		t.Errorf("lease TTL = %d after Orphan, want it still alive", resp.TTL)
	}
}

func TestSessionCloseRevokesTheLease(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	s, err := concurrency.NewSession(cli)
	if err != nil {
		t.Fatal(err)
	}
	key := sharedcluster.Prefix(t) + "k"
	if _, err := cli.Put(ctx, key, "v", clientv3.WithLease(s.Lease())); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 0 {
		t.Error("key bound to the session still exists after Close")
	}
	if !isDone(s.Done()) {
		t.Error("Done not closed after Close")
	}
}

func TestSessionWithLeaseAdoptsAnExistingLease(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	grant, err := cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, cli, concurrency.WithLease(grant.ID))
	if s.Lease() != grant.ID {
		t.Fatalf("Lease() = %x, want %x", s.Lease(), grant.ID)
	}
	if s.Client() != cli {
		t.Error("Client() is not the session's client")
	}
}

func TestSessionWithCanceledContextFails(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := concurrency.NewSession(cli, concurrency.WithContext(ctx)); !errors.Is(err, context.Canceled) {
		t.Errorf("NewSession with a canceled context: error %v, want context.Canceled", err)
	}
}

func TestSessionWithUnknownLeaseEndsAtOnce(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	s, err := concurrency.NewSession(cli, concurrency.WithLease(0x7eadbeef))
	if err != nil {
		// Reporting the missing lease up front is fine too.
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			t.Fatalf("NewSession(WithLease(unknown)) error = %v", err)
		}
		return
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("session on a lease that does not exist never ended")
	}
}
