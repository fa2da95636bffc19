package clientv3_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// TestCompatibilityWithOlderServers runs the KV, Txn and Auth subset
// against etcd 3.5 and 3.6 (3.7 is what the rest of the package uses).
func TestCompatibilityWithOlderServers(t *testing.T) {
	for _, v := range []etcdtest.Version{etcdtest.V3_5, etcdtest.V3_6} {
		t.Run(v.Release(), func(t *testing.T) {
			t.Parallel()
			c := etcdtest.NewCluster(t, etcdtest.WithVersion(v), etcdtest.WithFlags(authTokenTTL))
			cli := newClientOf(t, c)
			ctx := ctxT(t)

			k := key(t, "k")
			put(t, cli, k+"/a", "1")
			put(t, cli, k+"/b", "2")
			get, err := cli.Get(ctx, k+"/", clientv3.WithPrefix())
			if err != nil || keysOf(get) != "a,b" {
				t.Fatalf("Get prefix = %v, %v; want a,b", get, err)
			}
			txn, err := cli.Txn(ctx).
				If(clientv3.Compare(clientv3.Value(k+"/a"), "=", "1")).
				Then(clientv3.OpPut(k+"/c", "3"), clientv3.OpDelete(k+"/b")).
				Commit()
			if err != nil || !txn.Succeeded {
				t.Fatalf("Txn = %v, %v; want success", txn, err)
			}
			// No RangeStream before 3.7: GetStream reports Unimplemented as
			// its terminal chunk, as the official client does, and callers
			// fall back to Get themselves.
			ch, err := cli.GetStream(ctx, k+"/", clientv3.WithPrefix())
			if err != nil {
				t.Fatalf("GetStream: %v", err)
			}
			if _, err := clientv3.GetStreamToGetResponse(ch); status.Code(err) != codes.Unimplemented {
				t.Fatalf("GetStream on %s: err %v, want codes.Unimplemented", v.Release(), err)
			}
			del, err := cli.Delete(ctx, k+"/", clientv3.WithPrefix())
			if err != nil || del.Deleted != 2 {
				t.Fatalf("Delete prefix = %v, %v; want 2 deleted", del, err)
			}

			t.Run("Auth", func(t *testing.T) { exerciseAuth(t, c) })
			t.Run("TokenExpiry", func(t *testing.T) { exerciseTokenExpiry(t, c) })
		})
	}
}
