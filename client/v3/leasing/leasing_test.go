package leasing_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/leasing"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// kvRPCs counts the KV calls (Range and Txn) a client makes.
type kvRPCs struct{ n atomic.Int64 }

func (c *kvRPCs) option(cfg *clientv3.Config) {
	cfg.DialOptions = append(cfg.DialOptions, grpc.WithChainUnaryInterceptor(
		func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if strings.HasSuffix(method, "/Range") || strings.HasSuffix(method, "/Txn") {
				c.n.Add(1)
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}))
}

func newLeasingKV(t *testing.T, cli *clientv3.Client, pfx string, opts ...concurrency.SessionOption) clientv3.KV {
	t.Helper()
	lkv, closeLKV, err := leasing.NewKV(cli, pfx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeLKV)
	return lkv
}

func valueOf(t *testing.T, ctx context.Context, kv clientv3.KV, key string) string {
	t.Helper()
	resp, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return "<none>"
	}
	return string(resp.Kvs[0].Value)
}

func TestRepeatedGetsAreServedFromTheCache(t *testing.T) {
	var rpcs kvRPCs
	cli := sharedcluster.Client(t, rpcs.option)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	if _, err := cli.Put(ctx, pfx+"k", "v"); err != nil {
		t.Fatal(err)
	}
	lkv := newLeasingKV(t, cli, pfx+"leases/")

	if got := valueOf(t, ctx, lkv, pfx+"k"); got != "v" {
		t.Fatalf("first Get = %q, want v", got)
	}
	before := rpcs.n.Load()
	for i := 0; i < 5; i++ {
		if got := valueOf(t, ctx, lkv, pfx+"k"); got != "v" {
			t.Fatalf("cached Get = %q, want v", got)
		}
	}
	if n := rpcs.n.Load() - before; n != 0 {
		t.Errorf("5 repeated Gets made %d KV calls, want 0", n)
	}
	lk, err := cli.Get(ctx, pfx+"leases/"+pfx+"k")
	if err != nil {
		t.Fatal(err)
	}
	if len(lk.Kvs) != 1 || lk.Kvs[0].Lease == 0 {
		t.Errorf("leasing key = %v, want one key bound to a lease", lk.Kvs)
	}
	// A missing key is cached too.
	valueOf(t, ctx, lkv, pfx+"missing")
	before = rpcs.n.Load()
	if got := valueOf(t, ctx, lkv, pfx+"missing"); got != "<none>" {
		t.Errorf("Get of a missing key = %q", got)
	}
	if n := rpcs.n.Load() - before; n != 0 {
		t.Errorf("repeated Get of a missing key made %d KV calls, want 0", n)
	}
}

func TestOwnWritesUpdateTheCache(t *testing.T) {
	var rpcs kvRPCs
	cli := sharedcluster.Client(t, rpcs.option)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lkv := newLeasingKV(t, cli, pfx+"leases/")
	key := pfx + "k"

	valueOf(t, ctx, lkv, key)
	put, err := lkv.Put(ctx, key, "1")
	if err != nil {
		t.Fatal(err)
	}
	before := rpcs.n.Load()
	resp, err := lkv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if n := rpcs.n.Load() - before; n != 0 {
		t.Errorf("Get after our own Put made %d KV calls, want 0", n)
	}
	kv := resp.Kvs[0]
	if string(kv.Value) != "1" || kv.ModRevision != put.Header.Revision || kv.CreateRevision != put.Header.Revision || kv.Version != 1 {
		t.Errorf("cached pair = %v, want value 1 created and modified at %d, version 1", kv, put.Header.Revision)
	}
	if _, err := lkv.Put(ctx, key, "2"); err != nil {
		t.Fatal(err)
	}
	raw, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := lkv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(raw.Kvs[0]) != fmt.Sprint(cached.Kvs[0]) {
		t.Errorf("cached pair %v differs from etcd's %v", cached.Kvs[0], raw.Kvs[0])
	}
	if _, err := lkv.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got := valueOf(t, ctx, lkv, key); got != "<none>" {
		t.Errorf("Get after our own Delete = %q, want none", got)
	}
}

// TestLeasingClientsStayCoherent has three leasing clients take turns
// writing a key and checks that every one of them reads the last value
// written, whoever wrote it.
func TestLeasingClientsStayCoherent(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	key := pfx + "k"
	var lkvs []clientv3.KV
	for i := 0; i < 3; i++ {
		lkvs = append(lkvs, newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/"))
	}
	for i := 0; i < 12; i++ {
		want := fmt.Sprint(i)
		var err error
		switch i % 3 {
		case 0:
			_, err = lkvs[i%3].Put(ctx, key, want)
		case 1:
			_, err = lkvs[i%3].Txn(ctx).Then(clientv3.OpPut(key, want)).Commit()
		case 2:
			_, err = lkvs[i%3].Do(ctx, clientv3.OpPut(key, want))
		}
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		for j, lkv := range lkvs {
			if got := valueOf(t, ctx, lkv, key); got != want {
				t.Fatalf("after write %d by client %d, client %d read %q, want %q", i, i%3, j, got, want)
			}
		}
	}
}

func TestDeletesByAnotherLeasingClientInvalidateTheCache(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	a := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	b := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	for _, k := range []string{"d/1", "d/2", "single"} {
		if _, err := a.Put(ctx, pfx+k, "v"); err != nil {
			t.Fatal(err)
		}
		valueOf(t, ctx, a, pfx+k)
	}
	if _, err := b.Delete(ctx, pfx+"single"); err != nil {
		t.Fatal(err)
	}
	if got := valueOf(t, ctx, a, pfx+"single"); got != "<none>" {
		t.Errorf("after another client deleted it, Get = %q, want none", got)
	}
	resp, err := b.Delete(ctx, pfx+"d/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Deleted != 2 {
		t.Errorf("prefix delete removed %d keys, want 2", resp.Deleted)
	}
	for _, k := range []string{"d/1", "d/2"} {
		if got := valueOf(t, ctx, a, pfx+k); got != "<none>" {
			t.Errorf("after a prefix delete by another client, Get(%s) = %q, want none", k, got)
		}
	}
}

func TestTxnKeepsItsOutcomeUnderTheLeasingGuards(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	key := pfx + "k"
	a := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	b := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	if _, err := a.Put(ctx, key, "1"); err != nil {
		t.Fatal(err)
	}
	valueOf(t, ctx, a, key)

	resp, err := b.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", "not this")).
		Then(clientv3.OpPut(key, "then")).
		Else(clientv3.OpPut(key, "else"), clientv3.OpGet(key)).
		Commit()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Succeeded {
		t.Error("txn Succeeded although its comparison was false")
	}
	if len(resp.Responses) != 2 || string(resp.Responses[1].GetResponseRange().Kvs[0].Value) != "else" {
		t.Errorf("txn responses = %v, want the else branch's put and get", resp.Responses)
	}
	if got := valueOf(t, ctx, a, key); got != "else" {
		t.Errorf("cached reader sees %q after another client's txn, want else", got)
	}
}

// TestAWriterIsNotBlockedForeverByADeadOwner: the owner's client goes away
// without giving its leases up; a writer waits for the owner's session to
// expire and then writes.
func TestAWriterIsNotBlockedForeverByADeadOwner(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	key := pfx + "k"
	ownerCli, err := clientv3.New(clientv3.Config{Endpoints: sharedcluster.Cluster(t).Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	owner, closeOwner, err := leasing.NewKV(ownerCli, pfx+"leases/", concurrency.WithTTL(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Put(ctx, key, "old"); err != nil {
		t.Fatal(err)
	}
	valueOf(t, ctx, owner, key)
	ownerCli.Close() // the owner dies: no revocation, no renewal
	defer closeOwner()

	writer := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	if _, err := writer.Put(ctx, key, "new"); err != nil {
		t.Fatalf("Put while the owner is dead: %v", err)
	}
	if got := valueOf(t, ctx, writer, key); got != "new" {
		t.Errorf("Get = %q, want new", got)
	}
}

// TestSessionLossDropsTheCache revokes a leasing client's lease behind its
// back: its cached values may then be overwritten by anyone, so it must
// stop serving them.
func TestSessionLossDropsTheCache(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	key := pfx + "k"
	cli := sharedcluster.Client(t)
	lkv := newLeasingKV(t, cli, pfx+"leases/", concurrency.WithTTL(3))
	if _, err := cli.Put(ctx, key, "old"); err != nil {
		t.Fatal(err)
	}
	valueOf(t, ctx, lkv, key)
	lk, err := cli.Get(ctx, pfx+"leases/"+key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(lk.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	// With the leasing key gone, a plain write is legitimate.
	if _, err := cli.Put(ctx, key, "new"); err != nil {
		t.Fatal(err)
	}
	for valueOf(t, ctx, lkv, key) != "new" {
		select {
		case <-ctx.Done():
			t.Fatal("leasing client kept serving the old value after losing its session")
		default:
		}
	}
}

func TestUncacheableReadsGoToEtcd(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lkv := newLeasingKV(t, cli, pfx+"leases/")
	first, err := cli.Put(ctx, pfx+"a", "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, pfx+"b", "2"); err != nil {
		t.Fatal(err)
	}
	resp, err := lkv.Get(ctx, pfx, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 2 {
		t.Errorf("prefix Get returned %d keys, want 2", len(resp.Kvs))
	}
	if _, err := cli.Put(ctx, pfx+"a", "changed"); err != nil {
		t.Fatal(err)
	}
	old, err := lkv.Get(ctx, pfx+"a", clientv3.WithRev(first.Header.Revision))
	if err != nil {
		t.Fatal(err)
	}
	if string(old.Kvs[0].Value) != "1" {
		t.Errorf("Get at an old revision = %s, want 1", old.Kvs[0].Value)
	}
	lks, err := cli.Get(ctx, pfx+"leases/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if lks.Count != 0 {
		t.Errorf("%d leasing keys after only uncacheable reads, want 0", lks.Count)
	}
}

func TestConcurrentPutsOfTheOwnerLeaveItsCacheAtTheLastOne(t *testing.T) {
	var rpcs kvRPCs
	cli := sharedcluster.Client(t, rpcs.option)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "k"
	lkv := newLeasingKV(t, cli, sharedcluster.Prefix(t)+"leases/")
	valueOf(t, ctx, lkv, key)

	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := lkv.Put(ctx, key, fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	raw, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	before := rpcs.n.Load()
	cached, err := lkv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if n := rpcs.n.Load() - before; n != 0 {
		t.Errorf("Get after the owner's puts made %d KV calls, want 0", n)
	}
	if fmt.Sprint(cached.Kvs) != fmt.Sprint(raw.Kvs) || raw.Kvs[0].Version != 16 {
		t.Errorf("cached %v after 16 concurrent puts; etcd has %v", cached.Kvs, raw.Kvs)
	}
}

func TestGetsWithOptionsOfAnUncachedKeyTakeItAndApplyTheOptions(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lkv := newLeasingKV(t, cli, pfx+"leases/")
	if _, err := cli.Put(ctx, pfx+"k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := lkv.Get(ctx, pfx+"k", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 1 || len(resp.Kvs) != 0 {
		t.Errorf("count-only Get = %v; want count 1 and no pair", resp)
	}
	// The key was read whole and taken: a plain Get is answered from the
	// cache, with the value.
	lk, err := cli.Get(ctx, pfx+"leases/"+pfx+"k")
	if err != nil {
		t.Fatal(err)
	}
	if len(lk.Kvs) != 1 {
		t.Fatalf("no leasing key after a count-only Get")
	}
	if got := valueOf(t, ctx, lkv, pfx+"k"); got != "v" {
		t.Errorf("Get after a count-only Get = %q, want v", got)
	}
}

func TestASerializableGetOfAnUncachedKeyTakesNoLease(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lkv := newLeasingKV(t, cli, pfx+"leases/")
	if _, err := cli.Put(ctx, pfx+"k", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := lkv.Get(ctx, pfx+"k", clientv3.WithSerializable())
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("serializable Get = %v, %v", resp, err)
	}
	lks, err := cli.Get(ctx, pfx+"leases/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if lks.Count != 0 {
		t.Errorf("%d leasing keys after a serializable Get, want 0", lks.Count)
	}
}

// TestAClientDoesNotTakeBackALeaseItJustGaveUp: after a writer revoked its
// lease, a reader reads the key from etcd for a while instead of taking
// the lease again at once, so that it cannot starve writers.
func TestAClientDoesNotTakeBackALeaseItJustGaveUp(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	key, lk := pfx+"k", pfx+"leases/"+pfx+"k"
	cli := sharedcluster.Client(t)
	reader := newLeasingKV(t, cli, pfx+"leases/")
	writer := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	valueOf(t, ctx, reader, key)
	if _, err := writer.Put(ctx, key, "new"); err != nil {
		t.Fatal(err)
	}
	leasingKeys := func() int64 {
		resp, err := cli.Get(ctx, lk, clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	if got := valueOf(t, ctx, reader, key); got != "new" {
		t.Fatalf("reader's Get after the write = %q, want new", got)
	}
	if n := leasingKeys(); n != 0 {
		t.Errorf("the reader took the key back right after giving it up")
	}
	time.Sleep(2500 * time.Millisecond)
	valueOf(t, ctx, reader, key)
	if n := leasingKeys(); n != 1 {
		t.Errorf("the reader did not take the key again 2.5 s after giving it up")
	}
}

func TestGetStreamIsNotSupported(t *testing.T) {
	lkv := newLeasingKV(t, sharedcluster.Client(t), sharedcluster.Prefix(t)+"leases/")
	_, err := lkv.GetStream(sharedcluster.Context(t), "k")
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("GetStream = %v; want Unimplemented, as from the official leasing KV", err)
	}
}
