package recipe

import (
	"testing"

	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
)

func TestRemoteKVPutWritesTheKeyButValueKeepsTheCreatedOne(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "k"
	rk, err := newKV(ctx, cli.KV, key, "v1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if rk.Key() != key || rk.Value() != "v1" || rk.Revision() == 0 {
		t.Fatalf("RemoteKV = %q=%q@%d, want %q=v1 at a revision", rk.Key(), rk.Value(), rk.Revision(), key)
	}
	if _, err := newKV(ctx, cli.KV, key, "again", 0); err != ErrKeyExists {
		t.Errorf("creating an existing key: error %v, want ErrKeyExists", err)
	}
	if err := rk.Put("v2"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Kvs[0].Value) != "v2" {
		t.Errorf("after Put(v2): stored %s, want v2", resp.Kvs[0].Value)
	}
	if rk.Value() != "v1" {
		t.Errorf("after Put(v2): Value() = %s; the official client keeps the created value v1", rk.Value())
	}
	if err := rk.Delete(); err != nil {
		t.Fatal(err)
	}
	resp, err = cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 0 {
		t.Error("key still exists after Delete")
	}
}

func TestSequentialKeysSortInCreationOrder(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "seq"
	var last string
	for i := 0; i < 12; i++ {
		rk, err := newSequentialKV(ctx, cli.KV, pfx, "")
		if err != nil {
			t.Fatal(err)
		}
		if rk.Key() <= last {
			t.Fatalf("key %q does not sort after %q", rk.Key(), last)
		}
		last = rk.Key()
	}
}
