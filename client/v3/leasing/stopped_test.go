package leasing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/leasing"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// stoppableKV starts a one-member cluster of the test's own, which the test
// may stop (SIGSTOP), and returns its client, the member and a leasing KV
// over it. The KV is closed first at clean-up, while the member may still
// be stopped, then the member resumed.
func stoppableKV(t *testing.T) (*clientv3.Client, *etcdtest.Member, clientv3.KV) {
	t.Helper()
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(1))
	m := clus.Members()[0]
	t.Cleanup(func() { m.Resume() })
	cli := sharedcluster.ClientOf(t, clus.Endpoints())
	lkv, closeLKV, err := leasing.NewKV(cli, "leases/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		start := time.Now()
		closeLKV()
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("closing the leasing KV took %v with its cluster stopped; want it bounded", took)
		}
	})
	return cli, m, lkv
}

func TestCachedGetsWithAnyOptionsAreAnsweredWithoutTheCluster(t *testing.T) {
	cli, m, lkv := stoppableKV(t)
	ctx := sharedcluster.Context(t)
	put, err := cli.Put(ctx, "k", "abc")
	if err != nil {
		t.Fatal(err)
	}
	// A keys-only Get takes the key and caches it whole.
	if resp, err := lkv.Get(ctx, "k", clientv3.WithKeysOnly()); err != nil || len(resp.Kvs) != 1 || len(resp.Kvs[0].Value) != 0 {
		t.Fatalf("keys-only Get = %v, %v; want the key without its value", resp, err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	rev := put.Header.Revision
	for _, c := range []struct {
		name  string
		opts  []clientv3.OpOption
		value string // "" with pair false: no pair expected
		pair  bool
	}{
		{"plain", nil, "abc", true},
		{"serializable", []clientv3.OpOption{clientv3.WithSerializable()}, "abc", true},
		{"keys only", []clientv3.OpOption{clientv3.WithKeysOnly()}, "", true},
		{"limit 1, sorted", []clientv3.OpOption{clientv3.WithLimit(1), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}, "abc", true},
		{"count only", []clientv3.OpOption{clientv3.WithCountOnly()}, "", false},
		{"min mod revision passed", []clientv3.OpOption{clientv3.WithMinModRev(rev)}, "abc", true},
		{"min mod revision ahead", []clientv3.OpOption{clientv3.WithMinModRev(rev + 1)}, "", false},
		{"max create revision behind", []clientv3.OpOption{clientv3.WithMaxCreateRev(rev - 1)}, "", false},
	} {
		gctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := lkv.Get(gctx, "k", c.opts...)
		cancel()
		if err != nil {
			t.Fatalf("%s Get of a cached key with the member stopped: %v; want it answered from the cache", c.name, err)
		}
		if resp.Count != 1 || (len(resp.Kvs) == 1) != c.pair || (c.pair && string(resp.Kvs[0].Value) != c.value) {
			t.Errorf("%s Get = %v; want count 1, a pair %v with value %q", c.name, resp, c.pair, c.value)
		}
	}
}

func TestAKeyBoundToALeaseIsNeverCached(t *testing.T) {
	// Its lease's expiry would delete it without the leasing protocol
	// hearing of it, so every Get goes to etcd: with the member stopped, a
	// Get ends with its context's error.
	cli, m, lkv := stoppableKV(t)
	ctx := sharedcluster.Context(t)
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "k", "v", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if resp, err := lkv.Get(ctx, "k"); err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("Get = %v, %v; want the key", resp, err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := lkv.Get(gctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get of a lease-bound key with the member stopped: %v; want context.DeadlineExceeded", err)
	}
}
