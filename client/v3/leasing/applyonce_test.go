package leasing_test

import (
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
)

// A Put or Delete of a key whose lease this client does not hold is
// applied once. (The official leasing KV applies it a second time when it
// then releases a lease it never had: a Delete reports nothing deleted and
// a Put's version goes up by two.)
func TestAWriteOfAKeyThisClientDoesNotHoldIsAppliedOnce(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lkv := newLeasingKV(t, cli, pfx+"lease/")

	if _, err := cli.Put(ctx, pfx+"d", "v"); err != nil {
		t.Fatal(err)
	}
	del, err := lkv.Delete(ctx, pfx+"d", clientv3.WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if del.Deleted != 1 || len(del.PrevKvs) != 1 {
		t.Errorf("Delete of an existing key: Deleted %d with %d previous pairs, want 1 and 1", del.Deleted, len(del.PrevKvs))
	}

	if _, err := lkv.Put(ctx, pfx+"p", "v"); err != nil {
		t.Fatal(err)
	}
	got, err := cli.Get(ctx, pfx+"p")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || got.Kvs[0].Version != 1 {
		t.Errorf("after one Put of a new key: %v, want version 1 (written once)", got.Kvs)
	}
}

// A delete of every key from a given one on (WithFromKey) revokes the
// leases other clients hold on those keys, as a prefix delete does. (The
// official leasing KV looks for them in an empty range, so their holders
// go on serving the deleted values.)
func TestAFromKeyDeleteByAnotherLeasingClientInvalidatesTheCache(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	a := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	b := newLeasingKV(t, sharedcluster.Client(t), pfx+"leases/")
	// The leasing keys sort before the deleted range, so only the
	// revocation can tell a that k is gone.
	if _, err := a.Put(ctx, pfx+"z/k", "v"); err != nil {
		t.Fatal(err)
	}
	valueOf(t, ctx, a, pfx+"z/k")
	if _, err := b.Delete(ctx, pfx+"z/", clientv3.WithFromKey()); err != nil {
		t.Fatal(err)
	}
	if got := valueOf(t, ctx, a, pfx+"z/k"); got != "<none>" {
		t.Errorf("after another client deleted every key from %sz/ on, Get(z/k) = %q, want none", pfx, got)
	}
}
