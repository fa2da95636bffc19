package recipe_test

import (
	"errors"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	recipe "github.com/a74b11dd/etcdkit/client/v3/experimental/recipes"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// These hold the deliberate differences of RWMutex from the official
// client listed in docs/COMPATIBILITY.md.

func TestRWMutexLockFailsWithErrSessionExpiredWhenTheSessionEndsWhileWaiting(t *testing.T) {
	cli := sharedcluster.Client(t)
	pfx := sharedcluster.Prefix(t) + "rw"
	reader := recipe.NewRWMutex(newSession(t, cli), pfx)
	if err := reader.RLock(); err != nil {
		t.Fatal(err)
	}
	s, err := concurrency.NewSession(cli)
	if err != nil {
		t.Fatal(err)
	}
	writer := recipe.NewRWMutex(s, pfx)
	locked := make(chan error, 1)
	go func() { locked <- writer.Lock() }()
	time.Sleep(200 * time.Millisecond)
	if !blocked(locked) {
		t.Fatal("writer got the lock while a reader held it")
	}
	// The writer's session ends, and its queued key with it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reader.RUnlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-locked:
		if !errors.Is(err, concurrency.ErrSessionExpired) {
			t.Errorf("Lock whose session ended while it waited: error %v, want ErrSessionExpired (the official client returns nil without holding the lock)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Lock still waits after the reader left")
	}
	if err := writer.Unlock(); err != nil {
		t.Errorf("Unlock after a Lock that failed: %v, want nil", err)
	}
}

func TestRWMutexDeletesItsKeyWhenLockFails(t *testing.T) {
	clus := etcdtest.NewCluster(t)
	// bob may queue keys under rw/write/ but not read the whole of rw/,
	// so Lock creates its key and then fails.
	root, bob := sharedcluster.RestrictedUser(t, clus.Endpoints(), "bob", "rw/write/", clientv3.PermissionType(clientv3.PermReadWrite))
	ctx := sharedcluster.Context(t)

	rw := recipe.NewRWMutex(newSession(t, bob), "rw")
	if err := rw.Lock(); err == nil {
		t.Fatal("Lock without read permission on the lock's prefix succeeded")
	}
	resp, err := root.Get(ctx, "rw/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("%d keys left under rw/ after a failed Lock, want 0 (the official client leaves its key, blocking every later Lock of the session until it ends)", resp.Count)
	}
	if err := rw.Unlock(); err != nil {
		t.Errorf("Unlock after a Lock that failed: %v, want nil", err)
	}
}
