package ordering_test

import (
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/ordering"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestTxnMisuseFailsCommitAsTheBaseClientDoesAndSendsNothing(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "k"
	kv := ordering.NewKV(cli.KV, nil)
	put := clientv3.OpPut(key, "v")
	tests := []struct {
		name  string
		build func(clientv3.Txn) clientv3.Txn
	}{
		{"If twice", func(t clientv3.Txn) clientv3.Txn { return t.If().If() }},
		{"If after Then", func(t clientv3.Txn) clientv3.Txn { return t.Then(put).If() }},
		{"If after Else", func(t clientv3.Txn) clientv3.Txn { return t.Else(put).If() }},
		{"Then twice", func(t clientv3.Txn) clientv3.Txn { return t.Then(put).Then(put) }},
		{"Then after Else", func(t clientv3.Txn) clientv3.Txn { return t.Else(put).Then(put) }},
		{"Else twice", func(t clientv3.Txn) clientv3.Txn { return t.Else(put).Else(put) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, want := tt.build(cli.Txn(ctx)).Commit()
			if want == nil {
				t.Fatal("the base client's Txn accepted the misuse; nothing to compare with")
			}
			_, err := tt.build(kv.Txn(ctx)).Commit()
			if err == nil || err.Error() != want.Error() {
				t.Errorf("Commit error = %v, want the base client's %q (the official wrapper panics through the wrapped Txn)", err, want)
			}
		})
	}
	got, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 0 {
		t.Errorf("a misused Txn wrote %v; want nothing sent", got.Kvs)
	}
}

func TestTxnCommitsWhatIfThenAndElseWereGiven(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "k"
	kv := ordering.NewKV(cli.KV, nil)
	resp, err := kv.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(key), "=", 0)).
		Then(clientv3.OpPut(key, "then")).
		Else(clientv3.OpPut(key, "else")).
		Commit()
	if err != nil || !resp.Succeeded {
		t.Fatalf("Commit = %v, %v; want the Then branch to run", resp, err)
	}
	got, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "then" {
		t.Errorf("after Commit %s = %v, want then", key, got.Kvs)
	}
}

func TestGetStreamFailsAsUnimplemented(t *testing.T) {
	kv := ordering.NewKV(sharedcluster.Client(t).KV, nil)
	ch, err := kv.GetStream(sharedcluster.Context(t), "k")
	if ch != nil || status.Code(err) != codes.Unimplemented || status.Convert(err).Message() != "GetStream is not supported by kvOrdering" {
		t.Errorf("GetStream = %v, %v; the official wrapper returns nil and status Unimplemented %q", ch, err, "GetStream is not supported by kvOrdering")
	}
}
