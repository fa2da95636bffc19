package recipe_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	recipe "github.com/a74b11dd/etcdkit/client/v3/experimental/recipes"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
)

// officialWaiter enters the double barrier on key as a process of the
// official client would: it queues key/waiters/<UnixNano> with a lease of
// its own, and returns the key.
func officialWaiter(t *testing.T, cli *clientv3.Client, key string) string {
	t.Helper()
	ctx := sharedcluster.Context(t)
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Revoke(sharedcluster.Context(t), lease.ID) })
	name := fmt.Sprintf("%s/waiters/%d", key, time.Now().UnixNano())
	if _, err := cli.Put(ctx, name, "", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestDoubleBarrierAdmitsTheFirstCountOfSimultaneousEntrants(t *testing.T) {
	cli := sharedcluster.Client(t)
	key := sharedcluster.Prefix(t) + "db"
	const count = 3
	barriers := make([]*recipe.DoubleBarrier, count+1)
	for i := range barriers {
		barriers[i] = recipe.NewDoubleBarrier(newSession(t, cli), key, count)
	}
	type result struct {
		b   *recipe.DoubleBarrier
		err error
	}
	results := make(chan result, len(barriers))
	for _, b := range barriers {
		go func() { results <- result{b, b.Enter()} }()
	}
	var in []*recipe.DoubleBarrier
	tooMany := 0
	for range barriers {
		select {
		case r := <-results:
			switch {
			case r.err == nil:
				in = append(in, r.b)
			case errors.Is(r.err, recipe.ErrTooManyClients):
				tooMany++
			default:
				t.Fatalf("Enter: %v", r.err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("after 30s %d entered and %d were refused of %d; the official protocol admits %d and refuses the rest at once", len(in), tooMany, count+1, count)
		}
	}
	if len(in) != count || tooMany != 1 {
		t.Fatalf("%d entered and %d were refused, want %d and 1", len(in), tooMany, count)
	}

	left := make(chan error, count)
	for _, b := range in {
		go func() { left <- b.Leave() }()
	}
	for range in {
		if err := <-left; err != nil {
			t.Fatalf("Leave: %v", err)
		}
	}
	noKeysLeftUnder(t, cli, key)
}

func TestDoubleBarrierLastEntrantPutsReadyWithoutALease(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "db"
	officialWaiter(t, cli, key)
	s := newSession(t, cli)
	b := recipe.NewDoubleBarrier(s, key, 2)
	if err := b.Enter(); err != nil {
		t.Fatalf("Enter as the second of 2, after a process of the official client: %v", err)
	}
	ready, err := cli.Get(ctx, key+"/ready")
	if err != nil {
		t.Fatal(err)
	}
	if len(ready.Kvs) != 1 || ready.Kvs[0].Lease != 0 {
		t.Fatalf("ready key = %v, want %s/ready put without a lease, as the official client does", ready.Kvs, key)
	}
	waiters, err := cli.Get(ctx, key+"/waiters", clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		t.Fatal(err)
	}
	if len(waiters.Kvs) != 2 {
		t.Fatalf("%d waiter keys, want 2", len(waiters.Kvs))
	}
	if mine := waiters.Kvs[1]; !uniqueName(key+"/waiters").MatchString(string(mine.Key)) || clientv3.LeaseID(mine.Lease) != s.Lease() {
		t.Errorf("Enter queued %q (lease %x); the official client queues %s/waiters/<UnixNano> with the session's lease", mine.Key, mine.Lease, key)
	}
}

func TestDoubleBarrierEnterWaitsForTheReadyKeyOfAnOfficialProcess(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "db"
	// A ready key of an earlier round does not let anyone in.
	if _, err := cli.Put(ctx, key+"/ready", ""); err != nil {
		t.Fatal(err)
	}
	b := recipe.NewDoubleBarrier(newSession(t, cli), key, 2)
	entered := make(chan error, 1)
	go func() { entered <- b.Enter() }()
	time.Sleep(300 * time.Millisecond)
	if !blocked(entered) {
		t.Fatal("Enter returned before the second process arrived")
	}
	officialWaiter(t, cli, key)
	if _, err := cli.Put(ctx, key+"/ready", ""); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-entered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Enter still waits after the ready key was put")
	}
}

func TestDoubleBarrierLeaveLooksAgainWhenTheFirstProcessEndsEarly(t *testing.T) {
	cli := sharedcluster.Client(t)
	key := sharedcluster.Prefix(t) + "db"
	const count = 3
	sessions := make([]*concurrency.Session, count)
	barriers := make([]*recipe.DoubleBarrier, count)
	for i := range barriers {
		s := newSession(t, cli)
		sessions[i] = s
		barriers[i] = recipe.NewDoubleBarrier(s, key, count)
	}
	// Enter one by one, so that barriers[0] holds the oldest key.
	entered := make(chan error, count)
	for _, b := range barriers[:count-1] {
		go func() { entered <- b.Enter() }()
		time.Sleep(100 * time.Millisecond)
	}
	if err := barriers[count-1].Enter(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < count-1; i++ {
		if err := <-entered; err != nil {
			t.Fatal(err)
		}
	}

	left := make(chan error, 1)
	go func() { left <- barriers[1].Leave() }()
	time.Sleep(200 * time.Millisecond)
	// The first process dies: its key goes with its lease. The third is
	// still in, so the second keeps waiting.
	if err := sessions[0].Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if !blocked(left) {
		t.Fatal("Leave returned once the oldest key was gone while a process was still in; the official client looks again and waits for it")
	}
	if err := barriers[2].Leave(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-left:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Leave still waits after every other process left")
	}
}
