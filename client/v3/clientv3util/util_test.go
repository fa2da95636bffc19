package clientv3util_test

import (
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/clientv3util"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func TestKeyExistsAndKeyMissingCompareVersionWithZero(t *testing.T) {
	tests := []struct {
		name   string
		cmp    clientv3.Cmp
		result pb.Compare_CompareResult
	}{
		{"KeyExists", clientv3util.KeyExists("k"), pb.Compare_GREATER},
		{"KeyMissing", clientv3util.KeyMissing("k"), pb.Compare_EQUAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cmp.GetCompare()
			if c.Target != pb.Compare_VERSION || c.Result != tt.result || c.GetVersion() != 0 || string(c.Key) != "k" {
				t.Errorf("compare = %v, want version of k %v 0", c, tt.result)
			}
		})
	}
}

func TestKeyExistsGuardsDeleteAndKeyMissingGuardsCreate(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "k"

	resp, err := cli.Txn(ctx).If(clientv3util.KeyExists(key)).Then(clientv3.OpDelete(key)).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Succeeded {
		t.Error("KeyExists held for a missing key")
	}
	resp, err = cli.Txn(ctx).If(clientv3util.KeyMissing(key)).Then(clientv3.OpPut(key, "v")).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Succeeded {
		t.Error("KeyMissing failed for a missing key")
	}
	resp, err = cli.Txn(ctx).If(clientv3util.KeyMissing(key)).Then(clientv3.OpPut(key, "again")).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Succeeded {
		t.Error("KeyMissing held for an existing key")
	}
	resp, err = cli.Txn(ctx).If(clientv3util.KeyExists(key)).Then(clientv3.OpDelete(key)).Commit()
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Succeeded {
		t.Error("KeyExists failed for an existing key")
	}
}
