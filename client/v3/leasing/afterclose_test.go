package leasing_test

import (
	"context"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/leasing"
)

// leasingKeys counts the leasing keys under lpfx.
func leasingKeys(t *testing.T, ctx context.Context, cli *clientv3.Client, lpfx string) int64 {
	t.Helper()
	resp, err := cli.Get(ctx, lpfx, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

// TestAClosedKVStillAnswersEveryCallFromEtcd: the official leasing KV
// keeps answering after its close function ran; ours passes every call to
// etcd then, reading nothing from its cache, taking no key, and applying
// each write once.
func TestAClosedKVStillAnswersEveryCallFromEtcd(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lpfx := pfx + "leases/"
	key := pfx + "k"
	if _, err := cli.Put(ctx, key, "before"); err != nil {
		t.Fatal(err)
	}
	lkv, closeLKV, err := leasing.NewKV(cli, lpfx)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLKV()
	if got := valueOf(t, ctx, lkv, key); got != "before" {
		t.Fatalf("Get = %q, want before", got)
	}
	closeLKV()

	// Written behind the KV's back: only a read from etcd sees it.
	if _, err := cli.Put(ctx, key, "behind"); err != nil {
		t.Fatal(err)
	}
	resp, err := lkv.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get after close: %v; want it answered, as by the official leasing KV", err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "behind" {
		t.Errorf("Get after close = %v; want the value in etcd, behind", resp.Kvs)
	}
	if _, err := lkv.Get(ctx, pfx+"other"); err != nil {
		t.Fatalf("Get of another key after close: %v", err)
	}
	if n := leasingKeys(t, ctx, cli, lpfx); n != 0 {
		t.Errorf("%d leasing keys after Gets through the closed KV; want none taken", n)
	}

	put, err := lkv.Put(ctx, key, "put")
	if err != nil {
		t.Fatalf("Put after close: %v; want it applied", err)
	}
	raw, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Kvs) != 1 || string(raw.Kvs[0].Value) != "put" || raw.Kvs[0].Version != 3 || raw.Kvs[0].ModRevision != put.Header.Revision {
		t.Errorf("after a Put through the closed KV etcd has %v; want value put, version 3, at the Put's revision %d (applied once)", raw.Kvs, put.Header.Revision)
	}

	txn, err := lkv.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", "put")).
		Then(clientv3.OpPut(key, "txn"), clientv3.OpGet(key)).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		t.Fatalf("Txn after close: %v; want it applied", err)
	}
	if !txn.Succeeded || len(txn.Responses) != 2 || string(txn.Responses[1].GetResponseRange().Kvs[0].Value) != "txn" {
		t.Errorf("Txn after close = %v; want its Then branch, reading txn", txn)
	}
	if _, err := lkv.Do(ctx, clientv3.OpPut(key, "do")); err != nil {
		t.Fatalf("Do(Put) after close: %v", err)
	}

	del, err := lkv.Delete(ctx, key, clientv3.WithPrevKV())
	if err != nil {
		t.Fatalf("Delete after close: %v; want it applied", err)
	}
	if del.Deleted != 1 || len(del.PrevKvs) != 1 || string(del.PrevKvs[0].Value) != "do" {
		t.Errorf("Delete after close deleted %d with previous pairs %v; want 1, do", del.Deleted, del.PrevKvs)
	}
	if got := valueOf(t, ctx, lkv, key); got != "<none>" {
		t.Errorf("Get after a Delete through the closed KV = %q, want none", got)
	}
	if n := leasingKeys(t, ctx, cli, lpfx); n != 0 {
		t.Errorf("%d leasing keys after writes through the closed KV; want none", n)
	}
}

// TestAWriteThroughAClosedKVStillRevokesOtherClientsLeases: another
// leasing client that caches the key must not go on serving the old
// value; the official KV, too, revokes after its close.
func TestAWriteThroughAClosedKVStillRevokesOtherClientsLeases(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	cli := sharedcluster.Client(t)
	a, closeA, err := leasing.NewKV(sharedcluster.Client(t), pfx+"leases/")
	if err != nil {
		t.Fatal(err)
	}
	defer closeA()
	b := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	keys := []string{pfx + "put", pfx + "txn", pfx + "range/k"}
	for _, k := range keys {
		if _, err := cli.Put(ctx, k, "old"); err != nil {
			t.Fatal(err)
		}
		valueOf(t, ctx, b, k)
	}
	closeA()

	if _, err := a.Put(ctx, keys[0], "new"); err != nil {
		t.Fatalf("Put through the closed KV: %v", err)
	}
	if _, err := a.Txn(ctx).Then(clientv3.OpPut(keys[1], "new")).Commit(); err != nil {
		t.Fatalf("Txn through the closed KV: %v", err)
	}
	if _, err := a.Delete(ctx, pfx+"range/", clientv3.WithPrefix()); err != nil {
		t.Fatalf("range Delete through the closed KV: %v", err)
	}
	for i, want := range []string{"new", "new", "<none>"} {
		if got := valueOf(t, ctx, b, keys[i]); got != want {
			t.Errorf("after a write through the closed KV, another leasing client that had %s cached reads %q; want %q", keys[i], got, want)
		}
	}
}

// TestAWriteThroughAClosedKVDoesNotWaitForItsOwnUnrevokedLeasingKey: when
// closing could not revoke the session's lease, its leasing keys live on
// until the TTL; a write of such a key through the closed KV deletes the
// leasing key instead of waiting (the official one, which keeps its
// entries after close, writes at once too).
func TestAWriteThroughAClosedKVDoesNotWaitForItsOwnUnrevokedLeasingKey(t *testing.T) {
	faults := &failingRPCs{failed: map[string]int{}, fail: func(method string, _ any, _ int) bool {
		return method == "LeaseRevoke"
	}}
	cli := sharedcluster.Client(t, faults.option)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lpfx := pfx + "leases/"
	key := pfx + "k"
	lkv, closeLKV, err := leasing.NewKV(cli, lpfx)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLKV()
	valueOf(t, ctx, lkv, key)
	closeLKV()
	if faults.count("LeaseRevoke") == 0 || leasingKeys(t, ctx, cli, lpfx) != 1 {
		t.Fatalf("the test meant close's revocation to fail and leave the leasing key")
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := lkv.Put(wctx, key, "v"); err != nil {
		t.Fatalf("Put through the closed KV of a key it held: %v; want it applied without waiting for the lease's 60 s TTL", err)
	}
	if n := leasingKeys(t, ctx, cli, lpfx); n != 0 {
		t.Errorf("%d leasing keys left after the write; want the closed KV's own deleted", n)
	}
}
