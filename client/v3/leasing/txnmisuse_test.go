package leasing_test

import (
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
)

// TestAMisusedTxnFailsCommitAsTheClientsTxnDoesAndWritesNothing: If, Then
// and Else called again or out of order make Commit fail with the error
// the client's own Txn gives; the official leasing KV passes them to the
// official client's Txn, which panics.
func TestAMisusedTxnFailsCommitAsTheClientsTxnDoesAndWritesNothing(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lkv := newLeasingKV(t, cli, pfx+"leases/")
	key := pfx + "k"
	cmp := clientv3.Compare(clientv3.Version(key), "=", 0)
	put := clientv3.OpPut(key, "written")
	for _, c := range []struct {
		name   string
		misuse func(clientv3.Txn) clientv3.Txn
	}{
		{"If twice", func(t clientv3.Txn) clientv3.Txn { return t.If(cmp).If(cmp).Then(put) }},
		{"If after Then", func(t clientv3.Txn) clientv3.Txn { return t.Then(put).If(cmp) }},
		{"If after Else", func(t clientv3.Txn) clientv3.Txn { return t.Else(put).If(cmp) }},
		{"Then twice", func(t clientv3.Txn) clientv3.Txn { return t.Then(put).Then(put) }},
		{"Then after Else", func(t clientv3.Txn) clientv3.Txn { return t.Else(put).Then(put) }},
		{"Else twice", func(t clientv3.Txn) clientv3.Txn { return t.If(cmp).Else(put).Else(put) }},
		{"Then twice, then If", func(t clientv3.Txn) clientv3.Txn { return t.Then(put).Then(put).If(cmp) }},
	} {
		_, want := c.misuse(cli.Txn(ctx)).Commit()
		if want == nil {
			t.Fatalf("%s: the client's own Txn accepted the misuse", c.name)
		}
		resp, err := c.misuse(lkv.Txn(ctx)).Commit()
		if err == nil || err.Error() != want.Error() {
			t.Errorf("%s: leasing Txn Commit = %v, %v; want the client's error %q", c.name, resp, err, want)
		}
	}
	if got, err := cli.Get(ctx, key); err != nil || len(got.Kvs) != 0 {
		t.Errorf("after misused Txns etcd has %v (%v); want nothing written", got.Kvs, err)
	}
}
