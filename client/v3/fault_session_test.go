package clientv3_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
)

// A session and the lock it holds must outlive the restart of every
// member in turn, the leader's included: whichever member carries the
// session's keep-alive, the lease stays alive, so the lock stays held and
// no other session can take it.
func TestSessionAndHeldLockSurviveARollingRestart(t *testing.T) {
	clus := startCluster(t, 3)
	cli := newTestClient(t, clus.Endpoints())
	other := newTestClient(t, clus.Endpoints())
	ctx := testCtx(t)
	pfx := testKey(t) + "/lock"

	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(3))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	mu := concurrency.NewMutex(sess, pfx)
	if err := mu.Lock(ctx); err != nil {
		t.Fatal(err)
	}

	for _, m := range clus.Members() {
		if err := m.Restart(); err != nil {
			t.Fatalf("restart %s: %v", m.Name(), err)
		}
		// Longer than the TTL between restarts: a lost keep-alive
		// stream would cost the lease.
		time.Sleep(1500 * time.Millisecond)
		select {
		case <-sess.Done():
			t.Fatalf("session ended after restarting %s", m.Name())
		default:
		}
	}

	resp, err := cli.Txn(ctx).If(mu.IsOwner()).Commit()
	if err != nil || !resp.Succeeded {
		t.Fatalf("IsOwner after the restarts = %v, %v; want the lock still held", resp, err)
	}
	ttl, err := cli.TimeToLive(ctx, sess.Lease())
	if err != nil || ttl.TTL <= 0 {
		t.Fatalf("TimeToLive of the session's lease = %v, %v; want it alive", ttl, err)
	}
	otherSess, err := concurrency.NewSession(other, concurrency.WithTTL(3))
	if err != nil {
		t.Fatal(err)
	}
	defer otherSess.Close()
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := concurrency.NewMutex(otherSess, pfx).TryLock(tctx); !errors.Is(err, concurrency.ErrLocked) {
		t.Fatalf("TryLock by another session = %v; want ErrLocked", err)
	}
	if err := mu.Unlock(ctx); err != nil {
		t.Fatalf("Unlock after the restarts: %v", err)
	}
}
