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
	cli := newClientAt(t, clus.Endpoints())
	other := newClientAt(t, clus.Endpoints())
	ctx := ctxT(t)
	pfx := keyPrefix(t) + "/lock"

	// The TTL must outlast an election with the last renewal a third of a
	// TTL before the leader's restart: etcd's default election takes 1 to
	// 2 s, longer on a loaded machine, and no client can renew a lease
	// without a leader (nor, without hearing from one, assume that the
	// lease lives on).
	const ttl = 5
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	mu := concurrency.NewMutex(sess, pfx)
	if err := mu.Lock(ctx); err != nil {
		t.Fatal(err)
	}

	alive := func(when string) {
		t.Helper()
		select {
		case <-sess.Done():
			t.Fatalf("session ended %s", when)
		default:
		}
	}
	for _, m := range clus.Members() {
		if err := m.Restart(); err != nil {
			t.Fatalf("restart %s: %v", m.Name(), err)
		}
		time.Sleep(1500 * time.Millisecond)
		alive("after restarting " + m.Name())
	}
	// Had the keep-alives stopped during a restart, the lease would have
	// expired by the end of this.
	time.Sleep((ttl + 1) * time.Second)
	alive("a TTL after the last restart")

	resp, err := cli.Txn(ctx).If(mu.IsOwner()).Commit()
	if err != nil || !resp.Succeeded {
		t.Fatalf("IsOwner after the restarts = %v, %v; want the lock still held", resp, err)
	}
	left, err := cli.TimeToLive(ctx, sess.Lease())
	if err != nil || !leaseAlive(left) {
		t.Fatalf("TimeToLive of the session's lease: TTL %d, %v; want it alive", ttlOf(left), err)
	}
	otherSess, err := concurrency.NewSession(other, concurrency.WithTTL(ttl))
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
