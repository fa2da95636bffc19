package clientv3_test

import (
	"context"
	"sync/atomic"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// countingKV is a pb.KVClient with no gRPC connection of its own: it
// forwards to another client's retrying KV client and counts the calls,
// as a proxy or a test double would.
type countingKV struct {
	pb.KVClient
	calls atomic.Int32
}

func (k *countingKV) Range(ctx context.Context, in *pb.RangeRequest, opts ...grpc.CallOption) (*pb.RangeResponse, error) {
	k.calls.Add(1)
	return k.KVClient.Range(ctx, in, opts...)
}

func (k *countingKV) Put(ctx context.Context, in *pb.PutRequest, opts ...grpc.CallOption) (*pb.PutResponse, error) {
	k.calls.Add(1)
	return k.KVClient.Put(ctx, in, opts...)
}

func TestConstructorsWorkOverAdaptersWithoutAConnection(t *testing.T) {
	real := newClient(t)
	ctx := ctxT(t)
	host := clientv3.NewCtxClient(context.Background())
	defer host.Close()

	kvAdapter := &countingKV{KVClient: clientv3.RetryKVClient(real)}
	host.KV = clientv3.NewKVFromKVClient(kvAdapter, host)
	host.Cluster = clientv3.NewClusterFromClusterClient(clientv3.RetryClusterClient(real), host)
	host.Maintenance = clientv3.NewMaintenanceFromMaintenanceClient(clientv3.RetryMaintenanceClient(real, real.ActiveConnection()), host)
	host.Auth = clientv3.NewAuthFromAuthClient(clientv3.RetryAuthClient(real), host)

	k := key(t, "k")
	if _, err := host.Put(ctx, k, "v"); err != nil {
		t.Fatalf("Put through the adapter: %v", err)
	}
	get, err := host.Get(ctx, k)
	if err != nil || len(get.Kvs) != 1 {
		t.Fatalf("Get through the adapter = %v, %v", get, err)
	}
	if n := kvAdapter.calls.Load(); n != 2 {
		t.Errorf("adapter saw %d calls, want 2", n)
	}
	if _, err := host.MemberList(ctx); err != nil {
		t.Errorf("MemberList through the adapter: %v", err)
	}
	if _, err := host.Status(ctx, "ignored:1"); err != nil {
		t.Errorf("Status through the adapter: %v", err)
	}
	if _, err := host.AuthStatus(ctx); err != nil {
		t.Errorf("AuthStatus through the adapter: %v", err)
	}
	if _, err := clientv3.RetryLeaseClient(real).LeaseLeases(ctx, &pb.LeaseLeasesRequest{}); err != nil {
		t.Errorf("LeaseLeases over RetryLeaseClient: %v", err)
	}

	// Constructors accept a nil client too.
	nilKV := clientv3.NewKVFromKVClient(kvAdapter, nil)
	if _, err := nilKV.Get(ctx, k); err != nil {
		t.Errorf("Get through NewKVFromKVClient(_, nil): %v", err)
	}
}
