package concurrency_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
)

// canceled is a context that has ended: a call made with it fails without
// reaching a member, which, to its caller, looks like any call whose
// outcome is unknown.
func canceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(sharedcluster.Context(t))
	cancel()
	return ctx
}

// lateDelete applies what a failed release asked for, as a member can
// after the error: delete key if its creation revision is still rev (the
// Resign's transaction; a conditional Unlock's too). It reports whether it
// deleted anything.
func lateDelete(t *testing.T, cli *clientv3.Client, key string, rev int64) bool {
	t.Helper()
	resp, err := cli.Txn(sharedcluster.Context(t)).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", rev)).
		Then(clientv3.OpDelete(key)).
		Commit()
	if err != nil {
		t.Fatalf("the late delete: %v", err)
	}
	return resp.Succeeded
}

// A Resign that fails may still be applied later. The next Campaign of the
// same session must not take over the old key: the late Resign would then
// delete the new leadership's key and let another candidate lead while
// this one believes it does.
func TestACampaignAfterAFailedResignCannotBeUndoneByThatResignAppliedLate(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "election"
	e := concurrency.NewElection(newSession(t, cli), pfx)
	if err := e.Campaign(ctx, "first term"); err != nil {
		t.Fatal(err)
	}
	key, rev := e.Key(), e.Rev()
	if err := e.Resign(canceled(t)); err == nil {
		t.Fatal("Resign with an ended context succeeded")
	}
	if err := e.Campaign(ctx, "second term"); err != nil {
		t.Fatalf("Campaign after the failed Resign: %v", err)
	}
	if e.Rev() == rev {
		t.Errorf("the second Campaign kept the key created at revision %d that the failed Resign named", rev)
	}
	if lateDelete(t, cli, key, rev) {
		t.Fatal("the failed Resign, applied late, deleted the key of the leadership won after it")
	}
	if got := leaderValue(t, ctx, e); got != "second term" {
		t.Errorf("leader after the late Resign = %q, want %q", got, "second term")
	}

	// A rival does not win while this session leads.
	rival := concurrency.NewElection(newSession(t, cli), pfx)
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := rival.Campaign(rctx, "rival"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a rival's Campaign while this session leads: error %v, want DeadlineExceeded", err)
	}
	if err := e.Resign(ctx); err != nil {
		t.Fatal(err)
	}
}

// The same for a Mutex: an Unlock that failed, applied late, must not
// release a Lock taken after it.
func TestALockAfterAFailedUnlockCannotBeReleasedByThatUnlockAppliedLate(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	m := concurrency.NewMutex(newSession(t, cli), pfx)
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	key := m.Key()
	rev := m.Header().Revision
	if err := m.Unlock(canceled(t)); err == nil {
		t.Fatal("Unlock with an ended context succeeded")
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock after the failed Unlock: %v", err)
	}
	if lateDelete(t, cli, key, rev) {
		t.Fatal("the failed Unlock, applied late, deleted the key of the lock taken after it")
	}
	other := concurrency.NewMutex(newSession(t, cli), pfx)
	if err := other.TryLock(ctx); !errors.Is(err, concurrency.ErrLocked) {
		t.Errorf("TryLock by another session while the lock is held: error %v, want ErrLocked", err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.TryLock(ctx); err != nil {
		t.Errorf("TryLock once the lock is released: %v", err)
	}
}

// Every delete a Mutex sends names the creation revision of the key it
// deletes (a Txn), including the clean-up of a Lock that gave up waiting and
// of a TryLock that found the lock taken: a plain Delete applied late
// would remove whatever key the session has by then.
func TestAMutexNeverDeletesItsKeyUnconditionally(t *testing.T) {
	var deletes atomic.Int64
	spy := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if method == "/etcdserverpb.KV/DeleteRange" {
			deletes.Add(1)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	cli := sharedcluster.Client(t, func(c *clientv3.Config) {
		c.DialOptions = append(c.DialOptions, grpc.WithChainUnaryInterceptor(spy))
	})
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "lock"
	holder := concurrency.NewMutex(newSession(t, sharedcluster.Client(t)), pfx)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	m := concurrency.NewMutex(newSession(t, cli), pfx)
	if err := m.TryLock(ctx); !errors.Is(err, concurrency.ErrLocked) {
		t.Fatalf("TryLock while another session holds the lock: error %v, want ErrLocked", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := m.Lock(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with a short deadline while another session holds the lock: error %v, want DeadlineExceeded", err)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if n := deletes.Load(); n != 0 {
		t.Errorf("the mutex sent %d plain Deletes; want every delete conditioned on the key's creation revision", n)
	}
	resp, err := cli.Get(ctx, pfx, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 0 {
		t.Errorf("%d keys left under the lock's prefix after every Lock ended; want none", len(resp.Kvs))
	}
}
