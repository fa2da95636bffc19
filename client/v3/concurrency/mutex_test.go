package concurrency_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// TestMutexKeepsASharedCounterRightUnderContention has sessions on several
// clients increment a counter with a read-modify-write that is only safe
// under mutual exclusion. A lost update or two holders at once fails it.
func TestMutexKeepsASharedCounterRightUnderContention(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	counter := pfx + "counter"
	const clients, sessionsPerClient, rounds = 3, 2, 5

	var holders atomic.Int32
	var wg sync.WaitGroup
	errc := make(chan error, clients*sessionsPerClient)
	for c := 0; c < clients; c++ {
		cli := sharedcluster.Client(t)
		for s := 0; s < sessionsPerClient; s++ {
			sess := newSession(t, cli)
			m := concurrency.NewMutex(sess, pfx+"lock")
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < rounds; i++ {
					if err := m.Lock(ctx); err != nil {
						errc <- err
						return
					}
					if n := holders.Add(1); n != 1 {
						errc <- errors.New("two sessions held the lock at once")
					}
					resp, err := cli.Get(ctx, counter)
					if err != nil {
						errc <- err
						return
					}
					n := 0
					if len(resp.Kvs) > 0 {
						n, _ = strconv.Atoi(string(resp.Kvs[0].Value))
					}
					tresp, err := cli.Txn(ctx).If(m.IsOwner()).Then(clientv3.OpPut(counter, strconv.Itoa(n+1))).Commit()
					if err != nil {
						errc <- err
						return
					}
					if !tresp.Succeeded {
						errc <- errors.New("IsOwner failed while holding the lock")
					}
					holders.Add(-1)
					if err := m.Unlock(ctx); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	resp, err := sharedcluster.Client(t).Get(ctx, counter)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(resp.Kvs[0].Value), strconv.Itoa(clients*sessionsPerClient*rounds); got != want {
		t.Errorf("counter = %s, want %s", got, want)
	}
}

func TestTryLockReturnsErrLockedAndLeavesNoKeyBehind(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	holder := concurrency.NewMutex(newSession(t, cli), pfx)
	if err := holder.TryLock(ctx); err != nil {
		t.Fatalf("TryLock on a free mutex: %v", err)
	}
	other := concurrency.NewMutex(newSession(t, cli), pfx)
	if err := other.TryLock(ctx); !errors.Is(err, concurrency.ErrLocked) {
		t.Fatalf("TryLock on a held mutex: error %v, want ErrLocked", err)
	}
	if n := queuedKeys(t, ctx, cli, pfx); n != 1 {
		t.Errorf("%d keys under the lock prefix after a failed TryLock, want 1 (the holder's)", n)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.TryLock(ctx); err != nil {
		t.Errorf("TryLock after the holder unlocked: %v", err)
	}
}

func TestUnlockOfAMutexNotHeldReturnsErrLockReleased(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	m := concurrency.NewMutex(newSession(t, cli), sharedcluster.Prefix(t)+"lock")
	if err := m.Unlock(ctx); !errors.Is(err, concurrency.ErrLockReleased) {
		t.Errorf("Unlock before Lock: error %v, want ErrLockReleased", err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); !errors.Is(err, concurrency.ErrLockReleased) {
		t.Errorf("second Unlock: error %v, want ErrLockReleased", err)
	}
}

func TestMutexKeyHeaderAndIsOwner(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	s := newSession(t, cli)
	pfx := sharedcluster.Prefix(t) + "lock"
	m := concurrency.NewMutex(s, pfx)
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if want := pfx + "/" + strconv.FormatInt(int64(s.Lease()), 16); m.Key() != want {
		t.Errorf("Key() = %q, want %q", m.Key(), want)
	}
	if m.Header() == nil || m.Header().Revision == 0 {
		t.Errorf("Header() = %v, want the header of the acquiring response", m.Header())
	}
	resp, err := cli.Txn(ctx).If(m.IsOwner()).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Succeeded {
		t.Error("IsOwner does not hold for the holder")
	}
}

func TestLockWaitsForTheHolderAndCanceledLockCleansUp(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	holder := lockedMutex(t, ctx, newSession(t, cli), pfx)

	waiter := concurrency.NewMutex(newSession(t, cli), pfx)
	wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := waiter.Lock(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock on a held mutex with a short deadline: error %v, want DeadlineExceeded", err)
	}
	if n := queuedKeys(t, ctx, cli, pfx); n != 1 {
		t.Errorf("%d keys under the lock prefix after a canceled Lock, want 1", n)
	}

	locked := lockInBackground(ctx, waiter)
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-locked; err != nil {
		t.Errorf("Lock after the holder unlocked: %v", err)
	}
}

// queued waits until n keys are queued under the lock prefix.
func queued(t *testing.T, ctx context.Context, cli *clientv3.Client, pfx string, n int64) {
	t.Helper()
	for {
		got := queuedKeys(t, ctx, cli, pfx)
		if got >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("only %d of %d contenders queued", got, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestLockReturnsErrSessionExpiredWhenTheLeaseEndsWhileWaiting is the
// lock-safety case Jepsen found in 2020: a waiter whose lease expires
// while it waits must not be told it holds the lock when its turn comes.
func TestLockReturnsErrSessionExpiredWhenTheLeaseEndsWhileWaiting(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	holder := lockedMutex(t, ctx, newSession(t, cli), pfx)
	ws := newSession(t, cli)
	waiter := concurrency.NewMutex(ws, pfx)
	locked := lockInBackground(ctx, waiter)
	queued(t, ctx, cli, pfx, 2)

	if _, err := sharedcluster.Client(t).Revoke(ctx, ws.Lease()); err != nil {
		t.Fatal(err)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-locked; !errors.Is(err, concurrency.ErrSessionExpired) {
		t.Fatalf("Lock of a waiter whose lease was revoked: error %v, want ErrSessionExpired", err)
	}
	resp, err := cli.Txn(ctx).If(waiter.IsOwner()).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Succeeded {
		t.Error("IsOwner holds for a waiter whose Lock failed")
	}
}

// TestLockConfirmsItsKeyAfterWaiting covers the same case when the session
// has not noticed the loss yet (a paused process): the waiter's key is
// gone when its predecessor leaves, so Lock must fail.
func TestLockConfirmsItsKeyAfterWaiting(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	holder := lockedMutex(t, ctx, newSession(t, cli), pfx)
	ws := newSession(t, cli)
	waiter := concurrency.NewMutex(ws, pfx)
	locked := lockInBackground(ctx, waiter)
	queued(t, ctx, cli, pfx, 2)

	// The waiter's key disappears as if its lease had expired on the
	// server, while its own session still believes it is alive.
	waiterKey := pfx + "/" + strconv.FormatInt(int64(ws.Lease()), 16)
	if _, err := cli.Delete(ctx, waiterKey); err != nil {
		t.Fatal(err)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-locked; !errors.Is(err, concurrency.ErrSessionExpired) {
		t.Fatalf("Lock whose key vanished while waiting: error %v, want ErrSessionExpired", err)
	}
}

// TestLockPassesOnWhenTheHoldersSessionIsLost: a holder whose lease ends
// loses the lock; its guarded writes fail and the next waiter gets it.
func TestLockPassesOnWhenTheHoldersSessionIsLost(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	hs := newSession(t, cli, concurrency.WithTTL(3))
	holder := concurrency.NewMutex(hs, pfx)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	waiter := concurrency.NewMutex(newSession(t, cli), pfx)
	locked := lockInBackground(ctx, waiter)
	queued(t, ctx, cli, pfx, 2)

	if _, err := cli.Revoke(ctx, hs.Lease()); err != nil {
		t.Fatal(err)
	}
	if err := <-locked; err != nil {
		t.Fatalf("waiter's Lock after the holder's session was lost: %v", err)
	}
	<-hs.Done()
	resp, err := cli.Txn(ctx).If(holder.IsOwner()).Then(clientv3.OpPut(pfx+"-data", "stale")).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Succeeded {
		t.Error("a write guarded by the lost holder's IsOwner succeeded")
	}
	// The queuing transaction is sent, as the official client sends it,
	// and the server refuses the revoked lease.
	if err := holder.Lock(ctx); err != rpctypes.ErrLeaseNotFound {
		t.Errorf("Lock on a session whose lease was revoked: error %v, want ErrLeaseNotFound as the official client gets", err)
	}
}

func TestNewLockerLocksAndUnlocks(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	l := concurrency.NewLocker(newSession(t, cli), pfx)
	l.Lock()
	other := concurrency.NewMutex(newSession(t, cli), pfx)
	if err := other.TryLock(ctx); !errors.Is(err, concurrency.ErrLocked) {
		t.Errorf("TryLock while the Locker holds the lock: error %v, want ErrLocked", err)
	}
	l.Unlock()
	if err := other.TryLock(ctx); err != nil {
		t.Errorf("TryLock after Locker.Unlock: %v", err)
	}
}

func TestLockerPanicsWithTheErrorItselfWhenTheSessionIsGone(t *testing.T) {
	cli := sharedcluster.Client(t)
	s, err := concurrency.NewSession(cli)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	l := concurrency.NewLocker(s, sharedcluster.Prefix(t)+"lock")
	defer func() {
		if r := recover(); r != rpctypes.ErrLeaseNotFound {
			t.Errorf("Lock on a closed session panicked with %v, want the error itself, ErrLeaseNotFound, as the official Locker panics", r)
		}
	}()
	l.Lock()
}

// TestLockFailsForAWaiterCutOffFromTheClusterUntilItsLeaseExpired is the
// Jepsen scenario with a real fault: the waiter's member stops answering
// it, its lease expires on the cluster, the holder unlocks; the waiter must
// report ErrSessionExpired, never ownership.
func TestLockFailsForAWaiterCutOffFromTheClusterUntilItsLeaseExpired(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	ctx := sharedcluster.Context(t)
	m := c.Members()
	holderCli := sharedcluster.ClientOf(t, []string{m[0].Endpoint()})
	waiterCli := sharedcluster.ClientOf(t, []string{m[2].Endpoint()})
	pfx := "lock"

	holder := lockedMutex(t, ctx, newSession(t, holderCli), pfx)
	ws := newSession(t, waiterCli, concurrency.WithTTL(2))
	waiter := concurrency.NewMutex(ws, pfx)
	locked := lockInBackground(ctx, waiter)
	queued(t, ctx, holderCli, pfx, 2)

	m[2].Blackhole()
	defer m[2].Unblackhole()
	// Wait for the cluster to expire the waiter's lease.
	for {
		resp, err := holderCli.TimeToLive(ctx, ws.Lease())
		if err != nil {
			t.Fatal(err)
		}
		if resp.TTL == -1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	m[2].Unblackhole()
	if err := <-locked; !errors.Is(err, concurrency.ErrSessionExpired) {
		t.Fatalf("Lock of a waiter whose lease expired while cut off: error %v, want ErrSessionExpired", err)
	}
}

// lockedMutex returns a mutex of session s on pfx that it has locked,
// failing the test if it cannot.
func lockedMutex(t *testing.T, ctx context.Context, s *concurrency.Session, pfx string) *concurrency.Mutex {
	t.Helper()
	m := concurrency.NewMutex(s, pfx)
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock of an uncontended mutex: %v", err)
	}
	return m
}

// lockInBackground starts m.Lock(ctx) and returns the channel its result
// arrives on.
func lockInBackground(ctx context.Context, m *concurrency.Mutex) <-chan error {
	locked := make(chan error, 1)
	go func() { locked <- m.Lock(ctx) }()
	return locked
}

// queuedKeys returns how many keys are queued under the lock prefix pfx.
func queuedKeys(t *testing.T, ctx context.Context, cli *clientv3.Client, pfx string) int64 {
	t.Helper()
	resp, err := cli.Get(ctx, pfx+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

// A Lock or TryLock that fails with its context must not delete a lock
// the session already holds, through this Mutex or another of its own:
// the official client leaves the key, and so the lock, as it is.
func TestALockThatFailsWithItsContextKeepsTheLockTheSessionHolds(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	s := newSession(t, cli)
	m := concurrency.NewMutex(s, pfx)
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Lock(canceled); err == nil {
		t.Fatal("Lock with a canceled context succeeded")
	}
	if err := concurrency.NewMutex(s, pfx).TryLock(canceled); err == nil {
		t.Fatal("TryLock with a canceled context succeeded")
	}
	other := concurrency.NewMutex(newSession(t, cli), pfx)
	if err := other.TryLock(ctx); !errors.Is(err, concurrency.ErrLocked) {
		t.Errorf("TryLock of another session after the failed calls: error %v, want ErrLocked (the held lock must survive)", err)
	}
}

// An orphaned session's lease lives until its TTL: as with the official
// client, a Mutex can still queue with it and take the lock.
func TestAnOrphanedSessionCanStillTakeALock(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	s := newSession(t, cli)
	s.Orphan()
	if err := concurrency.NewMutex(s, sharedcluster.Prefix(t)+"lock").Lock(ctx); err != nil {
		t.Errorf("Lock on an orphaned session: %v, want nil (its lease is alive)", err)
	}
	if _, err := cli.Revoke(ctx, s.Lease()); err != nil {
		t.Fatal(err)
	}
}
