package kubernetes_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/kubernetes"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

func newClient(t *testing.T) *kubernetes.Client {
	t.Helper()
	kc, err := kubernetes.New(clientv3.Config{Endpoints: sharedcluster.Cluster(t).Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kc.Close() })
	return kc
}

func TestOptimisticPutCreatesOnlyMissingKeysAndUpdatesOnlyUnchangedOnes(t *testing.T) {
	kc := newClient(t)
	k := kc.Kubernetes
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "pod"

	created, err := k.OptimisticPut(ctx, key, []byte("v1"), 0, kubernetes.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !created.Succeeded || created.Revision == 0 {
		t.Fatalf("create = %+v, want success with a revision", created)
	}
	again, err := k.OptimisticPut(ctx, key, []byte("v1 again"), 0, kubernetes.PutOptions{GetOnFailure: true})
	if err != nil {
		t.Fatal(err)
	}
	if again.Succeeded || again.KV == nil || string(again.KV.Value) != "v1" || again.KV.ModRevision != created.Revision {
		t.Fatalf("second create = %+v, want failure returning the current pair v1@%d", again, created.Revision)
	}
	updated, err := k.OptimisticPut(ctx, key, []byte("v2"), created.Revision, kubernetes.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !updated.Succeeded {
		t.Fatal("update at the current revision failed")
	}
	stale, err := k.OptimisticPut(ctx, key, []byte("v3"), created.Revision, kubernetes.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if stale.Succeeded || stale.KV != nil {
		t.Fatalf("update at a stale revision = %+v, want failure without a pair (no GetOnFailure)", stale)
	}
	got, err := k.Get(ctx, key, kubernetes.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.KV.Value) != "v2" || got.KV.ModRevision != updated.Revision {
		t.Errorf("Get = %s@%d, want v2@%d", got.KV.Value, got.KV.ModRevision, updated.Revision)
	}
	old, err := k.Get(ctx, key, kubernetes.GetOptions{Revision: created.Revision})
	if err != nil {
		t.Fatal(err)
	}
	if string(old.KV.Value) != "v1" {
		t.Errorf("Get at revision %d = %s, want v1", created.Revision, old.KV.Value)
	}
}

func TestOptimisticPutAttachesTheLease(t *testing.T) {
	kc := newClient(t)
	ctx := sharedcluster.Context(t)
	lease, err := kc.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Revoke(ctx, lease.ID)
	key := sharedcluster.Prefix(t) + "event"
	if _, err := kc.Kubernetes.OptimisticPut(ctx, key, []byte("x"), 0, kubernetes.PutOptions{LeaseID: lease.ID}); err != nil {
		t.Fatal(err)
	}
	got, err := kc.Kubernetes.Get(ctx, key, kubernetes.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if clientv3.LeaseID(got.KV.Lease) != lease.ID {
		t.Errorf("key lease = %x, want %x", got.KV.Lease, lease.ID)
	}
}

func TestOptimisticDeleteReturnsNoPairOnSuccessAndTheCurrentOneOnFailure(t *testing.T) {
	kc := newClient(t)
	k := kc.Kubernetes
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "pod"
	put, err := k.OptimisticPut(ctx, key, []byte("v1"), 0, kubernetes.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale, err := k.OptimisticDelete(ctx, key, put.Revision-1, kubernetes.DeleteOptions{GetOnFailure: true})
	if err != nil {
		t.Fatal(err)
	}
	if stale.Succeeded || stale.KV == nil || string(stale.KV.Value) != "v1" {
		t.Fatalf("delete at a stale revision = %+v, want failure returning v1", stale)
	}
	del, err := k.OptimisticDelete(ctx, key, put.Revision, kubernetes.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !del.Succeeded || del.Revision <= put.Revision {
		t.Fatalf("delete = %+v, want success at a later revision", del)
	}
	if del.KV != nil {
		t.Errorf("delete returned the pair %s=%s; the official client returns none on success", del.KV.Key, del.KV.Value)
	}
	got, err := k.Get(ctx, key, kubernetes.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.KV != nil || got.Revision < del.Revision {
		t.Errorf("Get after delete = %+v, want no pair at revision >= %d", got, del.Revision)
	}
}

func TestListPaginatesWithContinueAndCountsThePrefix(t *testing.T) {
	kc := newClient(t)
	k := kc.Kubernetes
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "pods/"
	for i := 0; i < 5; i++ {
		if _, err := kc.Put(ctx, fmt.Sprintf("%s%d", pfx, i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kc.Put(ctx, sharedcluster.Prefix(t)+"pods0", "outside"); err != nil {
		t.Fatal(err)
	}

	n, err := k.Count(ctx, pfx, kubernetes.CountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("Count = %d, want 5", n)
	}

	var keys []string
	opts := kubernetes.ListOptions{Limit: 2}
	var rev int64
	for page := 0; ; page++ {
		resp, err := k.List(ctx, pfx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 {
			if resp.Count != 5 {
				t.Errorf("first page Count = %d, want 5", resp.Count)
			}
			rev = resp.Revision
			opts.Revision = rev
			// A write after the first page must not show up in the
			// later pages, which read at the first page's revision.
			if _, err := kc.Put(ctx, pfx+"9", "late"); err != nil {
				t.Fatal(err)
			}
		} else if resp.Revision < rev {
			t.Errorf("page %d revision %d < first page's %d", page, resp.Revision, rev)
		}
		for _, kv := range resp.Kvs {
			keys = append(keys, string(kv.Key))
		}
		if len(resp.Kvs) < 2 {
			break
		}
		opts.Continue = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	want := []string{pfx + "0", pfx + "1", pfx + "2", pfx + "3", pfx + "4"}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("listed %v, want %v", keys, want)
	}
}

func TestGetAtACompactedRevisionFails(t *testing.T) {
	kc := newClient(t)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "k"
	first, err := kc.Put(ctx, key, "1")
	if err != nil {
		t.Fatal(err)
	}
	last, err := kc.Put(ctx, key, "2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.Compact(ctx, last.Header.Revision); err != nil {
		t.Fatal(err)
	}
	_, err = kc.Kubernetes.Get(ctx, key, kubernetes.GetOptions{Revision: first.Header.Revision})
	if !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("Get at a compacted revision: error %v, want ErrCompacted", err)
	}
	_, err = kc.Kubernetes.List(ctx, key, kubernetes.ListOptions{Revision: first.Header.Revision})
	if !errors.Is(err, rpctypes.ErrCompacted) {
		t.Errorf("List at a compacted revision: error %v, want ErrCompacted", err)
	}
}

func TestCountOfTheEmptyPrefixCountsEveryKey(t *testing.T) {
	kc := newClient(t)
	ctx := sharedcluster.Context(t)
	for i := 0; i < 2; i++ {
		if _, err := kc.Put(ctx, fmt.Sprintf("%s%d", sharedcluster.Prefix(t), i), ""); err != nil {
			t.Fatal(err)
		}
	}
	n, err := kc.Kubernetes.Count(ctx, "", kubernetes.CountOptions{})
	if err != nil {
		t.Fatalf("Count of the empty prefix: %v; the official client counts every key", err)
	}
	all, err := kc.Client.Get(ctx, "\x00", clientv3.WithFromKey(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 || n != all.Count {
		t.Errorf("Count of the empty prefix = %d, want every key (%d)", n, all.Count)
	}
}
