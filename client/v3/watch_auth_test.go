package clientv3_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"
)

// A watch the server refuses ends with the server's reason: Canceled,
// CancelReason set, and Err() the matching rpctypes error. Other watches
// on the same stream are unaffected.
func TestWatchRefusedByTheServerEndsWithItsReason(t *testing.T) {
	clus := etcdtest.NewCluster(t)
	root := newTestClient(t, clus.Endpoints())
	ctx := testCtx(t)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(root.UserAdd(ctx, "root", "rootpw"))
	must(root.UserGrantRole(ctx, "root", "root"))
	must(root.RoleAdd(ctx, "reader"))
	must(root.RoleGrantPermission(ctx, "reader", "allowed/", clientv3.GetPrefixRangeEnd("allowed/"), clientv3.PermissionType(clientv3.PermRead)))
	must(root.UserAdd(ctx, "alice", "alicepw"))
	must(root.UserGrantRole(ctx, "alice", "reader"))
	must(root.AuthEnable(ctx))

	alice, err := clientv3.New(clientv3.Config{
		Endpoints: clus.Endpoints(), Username: "alice", Password: "alicepw",
		DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()

	allowed := alice.Watch(ctx, "allowed/", clientv3.WithPrefix())
	refused := alice.Watch(ctx, "secret")
	wr := next(t, refused)
	if !wr.Canceled || !strings.Contains(wr.CancelReason, rpctypes.ErrorDesc(rpctypes.ErrGRPCPermissionDenied)) {
		t.Fatalf("refused watch got %+v; want Canceled with reason %q", wr, rpctypes.ErrorDesc(rpctypes.ErrGRPCPermissionDenied))
	}
	if err := wr.Err(); err != rpctypes.ErrPermissionDenied || !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("Err() = %v; want rpctypes.ErrPermissionDenied", err)
	}
	expectClosed(t, refused)

	rootCli, err := clientv3.New(clientv3.Config{
		Endpoints: clus.Endpoints(), Username: "root", Password: "rootpw",
		DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rootCli.Close()
	put(t, rootCli, "allowed/x", "v")
	nextEvents(t, allowed, 1)
}
