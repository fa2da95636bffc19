package clientv3_test

import (
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

func TestTxnRunsThenWhenAllComparisonsHold(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	k := key(t, "k")
	rev := put(t, cli, k, "v1")
	cmps := map[string]clientv3.Cmp{
		"value =":          clientv3.Compare(clientv3.Value(k), "=", "v1"),
		"value !=":         clientv3.Compare(clientv3.Value(k), "!=", "v2"),
		"value >":          clientv3.Compare(clientv3.Value(k), ">", "v0"),
		"value <":          clientv3.Compare(clientv3.Value(k), "<", "v2"),
		"version int":      clientv3.Compare(clientv3.Version(k), "=", 1),
		"version int64":    clientv3.Compare(clientv3.Version(k), "=", int64(1)),
		"create revision":  clientv3.Compare(clientv3.CreateRevision(k), "=", rev),
		"mod revision":     clientv3.Compare(clientv3.ModRevision(k), "<", rev+1),
		"lease":            clientv3.Compare(clientv3.LeaseValue(k), "=", clientv3.NoLease),
		"missing version":  clientv3.Compare(clientv3.Version(k+"-missing"), "=", 0),
		"range version":    clientv3.Compare(clientv3.Version(k), ">", 0).WithRange(k + "\x00"),
		"prefix mod rev":   clientv3.Compare(clientv3.ModRevision(k), ">", 0).WithPrefix(),
		"lease as int":     clientv3.Compare(clientv3.LeaseValue(k), "=", 0),
		"create rev int64": clientv3.Compare(clientv3.CreateRevision(k), ">", int64(0)),
	}
	for name, cmp := range cmps {
		resp, err := cli.Txn(ctx).If(cmp).Then(clientv3.OpGet(k)).Else().Commit()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !resp.Succeeded {
			t.Errorf("%s: Succeeded = false, want true", name)
		}
	}
}

func TestTxnRunsElseWhenAComparisonFails(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	k := key(t, "k")
	put(t, cli, k, "v1")
	resp, err := cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(k), "=", "v1"), clientv3.Compare(clientv3.Version(k), "=", 7)).
		Then(clientv3.OpPut(k, "then")).
		Else(clientv3.OpPut(k, "else"), clientv3.OpGet(k)).
		Commit()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Succeeded {
		t.Fatalf("Succeeded = true, want false")
	}
	if len(resp.Responses) != 2 {
		t.Fatalf("got %d responses, want 2", len(resp.Responses))
	}
	got := resp.Responses[1].GetResponseRange().Kvs[0].Value
	if string(got) != "else" {
		t.Errorf("value after Else = %q, want else", got)
	}
	op := (*clientv3.TxnResponse)(resp).OpResponse()
	if op.Txn() != resp {
		t.Errorf("OpResponse().Txn() does not return the response")
	}
}

func TestNestedTxnRunsItsOwnBranch(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	a, b := key(t, "a"), key(t, "b")
	put(t, cli, a, "1")
	inner := clientv3.OpTxn(
		[]clientv3.Cmp{clientv3.Compare(clientv3.Value(a), "=", "nope")},
		[]clientv3.Op{clientv3.OpPut(b, "inner-then")},
		[]clientv3.Op{clientv3.OpPut(b, "inner-else")},
	)
	resp, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(a), "=", "1")).Then(inner).Commit()
	if err != nil {
		t.Fatal(err)
	}
	nested := resp.Responses[0].GetResponseTxn()
	if !resp.Succeeded || nested == nil || nested.Succeeded {
		t.Fatalf("outer Succeeded=%v nested=%v, want true and a failed nested txn", resp.Succeeded, nested)
	}
	get, err := cli.Get(ctx, b)
	if err != nil || len(get.Kvs) != 1 || string(get.Kvs[0].Value) != "inner-else" {
		t.Fatalf("b = %v, %v; want inner-else", get, err)
	}
}

func TestTxnMisuseFailsAtCommit(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	cases := map[string]clientv3.Txn{
		"If twice":        cli.Txn(ctx).If().If(),
		"Then twice":      cli.Txn(ctx).Then().Then(),
		"Else twice":      cli.Txn(ctx).Else().Else(),
		"If after Else":   cli.Txn(ctx).Else().If(),
		"Then after Else": cli.Txn(ctx).Else().Then(),
		"bad op":          cli.Txn(ctx).Then(clientv3.OpPut("k", "v", clientv3.WithLimit(3))),
	}
	for name, txn := range cases {
		if _, err := txn.Commit(); err == nil {
			t.Errorf("%s: Commit returned no error", name)
		}
	}
}

func TestTxnKeepsItsOwnCopyOfTheComparisonsItWasGiven(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	k := key(t, "k")
	put(t, cli, k, "v1")
	cmp := clientv3.Compare(clientv3.Value(k), "=", "v1")
	txn := cli.Txn(ctx).If(cmp).Then(clientv3.OpGet(k))
	cmp.WithValueBytes([]byte("changed after If"))
	resp, err := txn.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Succeeded {
		t.Error("Succeeded = false: a change made to a comparison after If reached the transaction")
	}
}
