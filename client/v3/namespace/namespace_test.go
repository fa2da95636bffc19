package namespace_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/namespace"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func keysOf(resp *clientv3.GetResponse) []string {
	var ks []string
	for _, kv := range resp.Kvs {
		ks = append(ks, string(kv.Key))
	}
	return ks
}

func sameKeys(got, want []string) bool {
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func TestPutStoresUnderPrefixAndGetStripsIt(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	ns := namespace.NewKV(cli.KV, pfx)

	if _, err := ns.Put(ctx, "abc", "123"); err != nil {
		t.Fatal(err)
	}
	raw, err := cli.Get(ctx, pfx+"abc")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Kvs) != 1 || string(raw.Kvs[0].Value) != "123" {
		t.Fatalf("raw Get(%q) = %v, want value 123", pfx+"abc", raw.Kvs)
	}
	if _, err := cli.Put(ctx, pfx+"abc", "456"); err != nil {
		t.Fatal(err)
	}
	got, err := ns.Get(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Key) != "abc" || string(got.Kvs[0].Value) != "456" {
		t.Fatalf("namespaced Get(abc) = %v, want abc=456", got.Kvs)
	}
}

func TestRangesStayInsideTheNamespace(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	ns := namespace.NewKV(cli.KV, pfx+"in/")

	for _, k := range []string{"in/a", "in/b", "in/c", "out", "z"} {
		if _, err := cli.Put(ctx, pfx+k, k); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		key  string
		opts []clientv3.OpOption
		want []string
	}{
		{"WithPrefix on the empty key lists the namespace", "", []clientv3.OpOption{clientv3.WithPrefix()}, []string{"a", "b", "c"}},
		{"WithFromKey stops at the namespace end", "b", []clientv3.OpOption{clientv3.WithFromKey()}, []string{"b", "c"}},
		{"WithFromKey on the empty key lists the namespace", "", []clientv3.OpOption{clientv3.WithFromKey()}, []string{"a", "b", "c"}},
		{"WithRange is translated", "a", []clientv3.OpOption{clientv3.WithRange("c")}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ns.Get(ctx, tt.key, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := keysOf(resp); !sameKeys(got, tt.want) {
				t.Errorf("Get(%q) keys = %v, want %v", tt.key, got, tt.want)
			}
		})
	}

	del, err := ns.Delete(ctx, "", clientv3.WithFromKey(), clientv3.WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if del.Deleted != 3 {
		t.Errorf("Delete(FromKey) deleted %d keys, want 3", del.Deleted)
	}
	var prev []string
	for _, kv := range del.PrevKvs {
		prev = append(prev, string(kv.Key))
	}
	if !sameKeys(prev, []string{"a", "b", "c"}) {
		t.Errorf("Delete prevKVs = %v, want [a b c]", prev)
	}
	outside, err := cli.Get(ctx, pfx, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(outside); !sameKeys(got, []string{pfx + "out", pfx + "z"}) {
		t.Errorf("keys outside the namespace after delete = %v, want [%sout %sz]", got, pfx, pfx)
	}
}

func TestPutPrevKVHasPrefixRemoved(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	ns := namespace.NewKV(cli.KV, sharedcluster.Prefix(t))

	if _, err := ns.Put(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	resp, err := ns.Put(ctx, "k", "v2", clientv3.WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if resp.PrevKv == nil || string(resp.PrevKv.Key) != "k" || string(resp.PrevKv.Value) != "v1" {
		t.Fatalf("PrevKv = %v, want k=v1", resp.PrevKv)
	}
}

func TestEmptyKeyIsRejected(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	ns := namespace.NewKV(cli.KV, sharedcluster.Prefix(t))

	if _, err := ns.Put(ctx, "", "v"); !errors.Is(err, rpctypes.ErrEmptyKey) {
		t.Errorf("Put(\"\") error = %v, want ErrEmptyKey", err)
	}
	if _, err := ns.Get(ctx, ""); !errors.Is(err, rpctypes.ErrEmptyKey) {
		t.Errorf("Get(\"\") error = %v, want ErrEmptyKey", err)
	}
	if _, err := ns.Delete(ctx, ""); !errors.Is(err, rpctypes.ErrEmptyKey) {
		t.Errorf("Delete(\"\") error = %v, want ErrEmptyKey", err)
	}
}

func TestTxnComparesWritesAndResultsUseTheNamespace(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	ns := namespace.NewKV(cli.KV, pfx)

	if _, err := cli.Put(ctx, pfx+"cond", "yes"); err != nil {
		t.Fatal(err)
	}
	cond := clientv3.Compare(clientv3.Value("cond"), "=", "yes")
	every := clientv3.Compare(clientv3.Version("").WithPrefix(), ">", 0)
	resp, err := ns.Txn(ctx).
		If(cond, every).
		Then(
			clientv3.OpPut("new", "1"),
			clientv3.OpGet("", clientv3.WithPrefix()),
			clientv3.OpTxn(nil, []clientv3.Op{clientv3.OpGet("cond")}, nil),
			clientv3.OpDelete("cond", clientv3.WithPrevKV()),
		).
		Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Succeeded {
		t.Fatal("txn did not succeed; the compares were not translated into the namespace")
	}
	rng := resp.Responses[1].GetResponseRange()
	var got []string
	for _, kv := range rng.Kvs {
		got = append(got, string(kv.Key))
	}
	if !sameKeys(got, []string{"cond", "new"}) {
		t.Errorf("txn range keys = %v, want [cond new]", got)
	}
	if string(cond.KeyBytes()) != "cond" || len(every.KeyBytes()) != 0 || string(every.GetCompare().RangeEnd) != "\x00" {
		t.Errorf("the namespace changed the caller's comparisons: keys %q and %q, end %q", cond.KeyBytes(), every.KeyBytes(), every.GetCompare().RangeEnd)
	}
	nested := resp.Responses[2].GetResponseTxn().Responses[0].GetResponseRange()
	if len(nested.Kvs) != 1 || string(nested.Kvs[0].Key) != "cond" {
		t.Errorf("nested txn range = %v, want [cond]", nested.Kvs)
	}
	prev := resp.Responses[3].GetResponseDeleteRange().PrevKvs
	if len(prev) != 1 || string(prev[0].Key) != "cond" {
		t.Errorf("txn delete prevKVs = %v, want [cond]", prev)
	}
	raw, err := cli.Get(ctx, pfx+"new")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Kvs) != 1 {
		t.Errorf("txn put did not land at %q", pfx+"new")
	}
}

func TestTxnWithEmptyKeyAddressesThePrefixKey(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	ns := namespace.NewKV(cli.KV, pfx)

	resp, err := ns.Txn(ctx).Then(clientv3.OpPut("", "v"), clientv3.OpGet("")).Commit()
	if err != nil {
		t.Fatalf("Commit of Then(OpPut(\"\")): %v; the official wrapper checks no key inside a txn and writes the prefix key", err)
	}
	if kvs := resp.Responses[1].GetResponseRange().Kvs; len(kvs) != 1 || len(kvs[0].Key) != 0 || string(kvs[0].Value) != "v" {
		t.Errorf("txn Get(\"\") = %v, want the prefix key as the empty key with value v", kvs)
	}
	if _, err := ns.Do(ctx, clientv3.OpTxn(nil, []clientv3.Op{clientv3.OpPut("", "v2")}, nil)); err != nil {
		t.Fatalf("Do(OpTxn(OpPut(\"\"))): %v; the official wrapper writes the prefix key", err)
	}
	raw, err := cli.Get(ctx, pfx)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Kvs) != 1 || string(raw.Kvs[0].Value) != "v2" {
		t.Errorf("raw Get(%q) = %v, want v2 written by the txns", pfx, raw.Kvs)
	}
}

func TestEmptyKeyWithAnExplicitRangeIsRejectedBeforeSending(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	ns := namespace.NewKV(cli.KV, pfx)
	if _, err := cli.Put(ctx, pfx+"a", "v"); err != nil {
		t.Fatal(err)
	}

	if _, err := ns.Get(ctx, "", clientv3.WithRange("z")); !errors.Is(err, rpctypes.ErrEmptyKey) {
		t.Errorf("Get(\"\", WithRange(z)) error = %v; the official wrapper returns ErrEmptyKey", err)
	}
	if _, err := ns.Delete(ctx, "", clientv3.WithRange("z")); !errors.Is(err, rpctypes.ErrEmptyKey) {
		t.Errorf("Delete(\"\", WithRange(z)) error = %v; the official wrapper returns ErrEmptyKey", err)
	}
	for _, op := range []clientv3.Op{
		clientv3.OpGet("", clientv3.WithRange("z")),
		clientv3.OpDelete("", clientv3.WithRange("z")),
		clientv3.OpPut("", "v"),
	} {
		if _, err := ns.Do(ctx, op); !errors.Is(err, rpctypes.ErrEmptyKey) {
			t.Errorf("Do(%s on \"\") error = %v; the official wrapper returns ErrEmptyKey", opKind(op), err)
		}
	}
	raw, err := cli.Get(ctx, pfx+"a")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.Kvs) != 1 {
		t.Errorf("%sa was deleted by a refused Delete", pfx)
	}
}

func opKind(op clientv3.Op) string {
	switch {
	case op.IsGet():
		return "Get"
	case op.IsPut():
		return "Put"
	case op.IsDelete():
		return "Delete"
	}
	return "Txn"
}

func TestGetWithAnUnknownSortOptionFailsBeforeSending(t *testing.T) {
	cli := sharedcluster.Client(t)
	ns := namespace.NewKV(cli.KV, sharedcluster.Prefix(t))
	_, err := ns.Get(sharedcluster.Context(t), "k", clientv3.WithSort(clientv3.SortByKey, clientv3.SortOrder(99)))
	if !errors.Is(err, rpctypes.ErrInvalidSortOption) {
		t.Errorf("Get with sort order 99: error %v; the official wrapper returns ErrInvalidSortOption", err)
	}
}

func TestDoTranslatesOps(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	ns := namespace.NewKV(cli.KV, pfx)

	if _, err := ns.Do(ctx, clientv3.OpPut("d", "1")); err != nil {
		t.Fatal(err)
	}
	resp, err := ns.Do(ctx, clientv3.OpGet("d"))
	if err != nil {
		t.Fatal(err)
	}
	if kvs := resp.Get().Kvs; len(kvs) != 1 || string(kvs[0].Key) != "d" {
		t.Fatalf("Do(OpGet(d)) = %v, want key d", kvs)
	}
}

func TestWatchSeesOnlyNamespaceWithPrefixStripped(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	ns := namespace.NewKV(cli.KV, pfx+"in/")
	w := namespace.NewWatcher(cli.Watcher, pfx+"in/")

	wch := w.Watch(ctx, "", clientv3.WithPrefix(), clientv3.WithPrevKV())
	if _, err := cli.Put(ctx, pfx+"out", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Put(ctx, "a", "2"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		wr, ok := <-wch
		if !ok {
			t.Fatalf("watch channel closed after %v", got)
		}
		if err := wr.Err(); err != nil {
			t.Fatal(err)
		}
		for _, ev := range wr.Events {
			s := fmt.Sprintf("%s %s=%s", ev.Type, ev.Kv.Key, ev.Kv.Value)
			if ev.PrevKv != nil {
				s += fmt.Sprintf(" prev %s=%s", ev.PrevKv.Key, ev.PrevKv.Value)
			}
			got = append(got, s)
		}
	}
	want := []string{"PUT a=1", "PUT a=2 prev a=1"}
	if !sameKeys(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestWatchChannelClosesWhenContextEnds(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx, cancel := context.WithCancel(sharedcluster.Context(t))
	w := namespace.NewWatcher(cli.Watcher, sharedcluster.Prefix(t))
	wch := w.Watch(ctx, "k")
	cancel()
	for range wch {
	}
}

func TestLeaseTimeToLiveListsOnlyNamespacedKeys(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Revoke(ctx, lease.ID)
	for _, k := range []string{pfx + "in/a", pfx + "out"} {
		if _, err := cli.Put(ctx, k, "v", clientv3.WithLease(lease.ID)); err != nil {
			t.Fatal(err)
		}
	}
	nl := namespace.NewLease(cli.Lease, pfx+"in/")
	resp, err := nl.TimeToLive(ctx, lease.ID, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range resp.Keys {
		got = append(got, string(k))
	}
	if !sameKeys(got, []string{"a"}) {
		t.Errorf("attached keys = %v, want [a]", got)
	}
}

func TestGetStreamFailsAsUnimplemented(t *testing.T) {
	ns := namespace.NewKV(sharedcluster.Client(t).KV, sharedcluster.Prefix(t))
	ch, err := ns.GetStream(sharedcluster.Context(t), "", clientv3.WithFromKey())
	if ch != nil || status.Code(err) != codes.Unimplemented || status.Convert(err).Message() != "GetStream is not supported by kvPrefix" {
		t.Errorf("GetStream = %v, %v; the official wrapper returns nil and status Unimplemented %q", ch, err, "GetStream is not supported by kvPrefix")
	}
}

func TestLeaseTimeToLiveKeysAreNilWhenNoneIsInTheNamespace(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Revoke(ctx, lease.ID)
	if _, err := cli.Put(ctx, pfx+"out", "v", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	resp, err := namespace.NewLease(cli.Lease, pfx+"in/").TimeToLive(ctx, lease.ID, clientv3.WithAttachedKeys())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Keys != nil {
		t.Errorf("attached keys = %#v, want nil as the official wrapper leaves them", resp.Keys)
	}
}
