package leasing_test

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/leasing"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// stoppableKV starts a one-member cluster of the test's own, which the test
// may stop (SIGSTOP), and returns its client, the member and a leasing KV
// over it. The KV is closed first at clean-up, while the member may still
// be stopped, then the member resumed.
func stoppableKV(t *testing.T, opts ...concurrency.SessionOption) (*clientv3.Client, *etcdtest.Member, clientv3.KV) {
	t.Helper()
	cli, m, lkv, _ := stoppableKVAndClose(t, opts...)
	return cli, m, lkv
}

// stoppableKVAndClose is stoppableKV that also returns the KV's close
// function, for tests that close it themselves (the clean-up's call then
// does nothing).
func stoppableKVAndClose(t *testing.T, opts ...concurrency.SessionOption) (*clientv3.Client, *etcdtest.Member, clientv3.KV, func()) {
	t.Helper()
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(1))
	m := clus.Members()[0]
	t.Cleanup(func() { m.Resume() })
	cli := sharedcluster.ClientOf(t, clus.Endpoints())
	lkv, closeLKV, err := leasing.NewKV(cli, "leases/", opts...)
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
	return cli, m, lkv, closeLKV
}

// sameKVs reports whether two lists of pairs are equal field by field.
func sameKVs(a, b []*mvccpb.KeyValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if string(x.Key) != string(y.Key) || string(x.Value) != string(y.Value) || x.CreateRevision != y.CreateRevision ||
			x.ModRevision != y.ModRevision || x.Version != y.Version || x.Lease != y.Lease {
			return false
		}
	}
	return true
}

// shortCtx returns a context that ends within 2 s: long enough for an
// answer from the cache, short enough that a call waiting for the
// stopped member fails the test quickly.
func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(sharedcluster.Context(t), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
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

func TestAGetOfAKeyNotCachedEndsWithItsContextsErrorWhenTheClusterIsStopped(t *testing.T) {
	_, m, lkv := stoppableKV(t)
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithTimeout(sharedcluster.Context(t), time.Second)
	defer cancel()
	start := time.Now()
	_, err := lkv.Get(gctx, "never-read")
	if err != context.DeadlineExceeded {
		t.Fatalf("Get with a 1 s deadline = %v; want exactly context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Get with a 1 s deadline returned after %v", took)
	}
}

func TestTxnsOnCachedKeysAreAnsweredWithoutTheCluster(t *testing.T) {
	cli, m, lkv := stoppableKV(t)
	ctx := sharedcluster.Context(t)
	if _, err := cli.Put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	put, err := cli.Put(ctx, "b", "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "missing"} {
		if _, err := lkv.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}

	resp, err := lkv.Txn(shortCtx(t)).
		If(clientv3.Compare(clientv3.Value("a"), "=", "1"), clientv3.Compare(clientv3.ModRevision("b"), "=", put.Header.Revision)).
		Then(clientv3.OpGet("a"), clientv3.OpGet("b", clientv3.WithKeysOnly()), clientv3.OpGet("missing")).
		Else(clientv3.OpPut("a", "never")).
		Commit()
	if err != nil {
		t.Fatalf("txn on cached keys with the member stopped: %v", err)
	}
	if !resp.Succeeded || len(resp.Responses) != 3 || resp.Header.Revision < put.Header.Revision {
		t.Fatalf("txn = %v; want it to succeed with 3 reads at revision %d or later", resp, put.Header.Revision)
	}
	a, b, missing := resp.Responses[0].GetResponseRange(), resp.Responses[1].GetResponseRange(), resp.Responses[2].GetResponseRange()
	if len(a.Kvs) != 1 || string(a.Kvs[0].Value) != "1" || len(b.Kvs) != 1 || string(b.Kvs[0].Key) != "b" || len(b.Kvs[0].Value) != 0 || len(missing.Kvs) != 0 {
		t.Errorf("txn reads = %v, %v, %v; want a=1, b keys only, nothing", a.Kvs, b.Kvs, missing.Kvs)
	}

	// The comparisons are those of etcd: a missing key fails every value
	// comparison and has version 0.
	for _, c := range []struct {
		cmp  clientv3.Cmp
		want bool
	}{
		{clientv3.Compare(clientv3.Value("a"), ">", "0"), true},
		{clientv3.Compare(clientv3.Version("b"), "!=", 1), false},
		{clientv3.Compare(clientv3.CreateRevision("a"), "<", put.Header.Revision), true},
		{clientv3.Compare(clientv3.LeaseValue("a"), "=", clientv3.NoLease), true},
		{clientv3.Compare(clientv3.Value("missing"), "=", ""), false},
		{clientv3.Compare(clientv3.Version("missing"), "=", 0), true},
	} {
		tctx := shortCtx(t)
		if c.want {
			var cancel context.CancelFunc
			tctx, cancel = context.WithTimeout(tctx, 300*time.Millisecond)
			defer cancel()
		}
		resp, err := lkv.Txn(tctx).If(c.cmp).Then(clientv3.OpPut("a", "then")).Else(clientv3.OpGet("b")).Commit()
		if c.want {
			// The chosen branch writes: that needs the cluster.
			if err == nil {
				t.Errorf("%v: a txn that writes was answered with the member stopped: %v", c.cmp, resp)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: txn reading a cached key with the member stopped: %v", c.cmp, err)
		}
		if resp.Succeeded || len(resp.Responses) != 1 || string(resp.Responses[0].GetResponseRange().Kvs[0].Value) != "2" {
			t.Errorf("%v: txn = %v; want the else branch's read of b", c.cmp, resp)
		}
	}
}

func TestATxnThatLooksAtNoKeyIsAnsweredWithoutTheCluster(t *testing.T) {
	// As the official cache does (etcd's own suite relies on it): no
	// comparison and an empty branch read nothing, and get the header of
	// the newest revision the cache has seen.
	cli, m, lkv := stoppableKV(t)
	ctx := sharedcluster.Context(t)
	put, err := cli.Put(ctx, "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lkv.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	resp, err := lkv.Txn(shortCtx(t)).Then().Else(clientv3.OpPut("k", "w")).Commit()
	if err != nil {
		t.Fatalf("an empty txn with the member stopped: %v", err)
	}
	if !resp.Succeeded || len(resp.Responses) != 0 || resp.Header.Revision < put.Header.Revision {
		t.Fatalf("empty txn = %v; want succeeded, no responses, revision at least %d", resp, put.Header.Revision)
	}
}

func TestWritesThroughTheKVLeaveTheCacheExact(t *testing.T) {
	// Whatever the writes' options, and whichever nested branch a
	// transaction took, the owner's cache holds etcd's state afterwards
	// and serves it with the member stopped.
	cli, m, lkv := stoppableKV(t)
	ctx := sharedcluster.Context(t)
	keys := []string{"put", "do", "txn", "del", "leased"}
	for _, k := range keys {
		if _, err := cli.Put(ctx, k, "old"); err != nil {
			t.Fatal(err)
		}
		if _, err := lkv.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := lkv.Put(ctx, "put", "new", clientv3.WithPrevKV()); err != nil || resp.PrevKv == nil || string(resp.PrevKv.Value) != "old" {
		t.Fatalf("Put with PrevKV = %v, %v", resp, err)
	}
	if _, err := lkv.Do(ctx, clientv3.OpPut("do", "new")); err != nil {
		t.Fatal(err)
	}
	nested := clientv3.OpTxn(
		[]clientv3.Cmp{clientv3.Compare(clientv3.Version("nokey"), ">", 0)},
		[]clientv3.Op{clientv3.OpPut("txn", "then")},
		[]clientv3.Op{clientv3.OpPut("txn", "else"), clientv3.OpDelete("del")})
	if _, err := lkv.Do(ctx, nested); err != nil {
		t.Fatal(err)
	}
	if _, err := lkv.Put(ctx, "leased", "new", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	want := map[string][]*mvccpb.KeyValue{}
	for _, k := range keys {
		resp, err := cli.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		want[k] = resp.Kvs
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys[:4] {
		resp, err := lkv.Get(shortCtx(t), k)
		if err != nil {
			t.Fatalf("Get(%s) after a write through the KV, member stopped: %v; want it from the cache", k, err)
		}
		if !sameKVs(resp.Kvs, want[k]) {
			t.Errorf("cached %s = %v; etcd has %v", k, resp.Kvs, want[k])
		}
	}
	// A key the owner bound to a lease is not served from the cache: the
	// lease could expire unseen.
	gctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := lkv.Get(gctx, "leased"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get of a key the owner bound to a lease, member stopped: %v; want context.DeadlineExceeded", err)
	}
}

func TestALostSessionDropsTheCacheAndClosingStillReturnsPromptly(t *testing.T) {
	_, m, lkv, closeLKV := stoppableKVAndClose(t, concurrency.WithTTL(1))
	ctx := sharedcluster.Context(t)
	if _, err := lkv.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	// Once no renewal has been heard for a TTL, the session, and with it
	// every cached key, is gone: Gets go to the stopped member.
	deadline := time.Now().Add(10 * time.Second)
	for {
		gctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_, err := lkv.Get(gctx, "k")
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a cached key was still served 10 s after its 1 s session lost the cluster (last error %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The KV is now trying to start a new session; closing interrupts it.
	done := make(chan struct{})
	go func() { closeLKV(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		m.Resume()
		<-done
		t.Fatal("closing took over 5 s while the KV waited for a new session from a stopped cluster")
	}
}

func TestASerializableGetNeedsNoQuorum(t *testing.T) {
	clus := etcdtest.NewCluster(t, etcdtest.WithSize(3))
	members := clus.Members()
	for _, m := range members {
		t.Cleanup(func() { m.Resume() })
	}
	ctx := sharedcluster.Context(t)
	cli := sharedcluster.ClientOf(t, []string{members[0].Endpoint()})
	lkv, closeLKV, err := leasing.NewKV(cli, "leases/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLKV)
	if _, err := cli.Put(ctx, "cached", "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := lkv.Get(ctx, "cached"); err != nil {
		t.Fatal(err)
	}
	for _, m := range members[1:] {
		if err := m.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	// Without a quorum nothing can be leased, but the member left reads
	// serializably; the Get must not try to take the key.
	resp, err := lkv.Get(shortCtx(t), "uncached", clientv3.WithSerializable())
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("serializable Get of an uncached key without a quorum = %v, %v; want no pair", resp, err)
	}
	if err := members[0].Stop(); err != nil {
		t.Fatal(err)
	}
	resp, err = lkv.Get(shortCtx(t), "cached", clientv3.WithSerializable())
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "abc" {
		t.Fatalf("serializable Get of a cached key, cluster stopped = %v, %v; want abc from the cache", resp, err)
	}
}
