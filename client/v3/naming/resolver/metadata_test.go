package resolver_test

import (
	"context"
	"sync"
	"testing"

	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/naming/endpoints"
	"github.com/a74b11dd/etcdkit/client/v3/naming/resolver"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/credentials/insecure"
	gresolver "google.golang.org/grpc/resolver"
)

// recorderName is the balancer that records what the resolver pushed and
// leaves the balancing to pick_first.
const recorderName = "etcdkit_resolver_test_recorder"

var recorded struct {
	sync.Mutex
	states []gresolver.State
}

func init() { balancer.Register(recorderBuilder{}) }

type recorderBuilder struct{}

func (recorderBuilder) Name() string { return recorderName }

func (recorderBuilder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	return recorder{balancer.Get("pick_first").Build(cc, opts)}
}

type recorder struct{ balancer.Balancer }

func (r recorder) UpdateClientConnState(s balancer.ClientConnState) error {
	recorded.Lock()
	recorded.states = append(recorded.states, s.ResolverState)
	recorded.Unlock()
	return r.Balancer.UpdateClientConnState(s)
}

// rangeThrough reads key from etcd over conn, waiting for the connection to
// be ready.
func rangeThrough(t *testing.T, ctx context.Context, conn *grpc.ClientConn, key string) {
	t.Helper()
	if _, err := pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{Key: []byte(key)}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("Range through the etcd resolver: %v; with the official resolver the call reaches the stored member", err)
	}
}

func TestResolverReachesAnEtcdMemberWhoseEndpointMetadataIsAJSONObject(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	member := sharedcluster.Cluster(t).Endpoints()[0]
	service := sharedcluster.Prefix(t) + "etcd"
	em, err := endpoints.NewManager(cli, service)
	if err != nil {
		t.Fatal(err)
	}
	// Read back from etcd, a JSON object is a map, which Go cannot
	// compare with ==, and gRPC compares Address.Metadata that way.
	meta := map[string]any{"zone": "a", "weight": 1}
	if err := em.AddEndpoint(ctx, service+"/m0", endpoints.Endpoint{Addr: member, Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	b, err := resolver.NewBuilder(cli)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("etcd:///"+service, grpc.WithResolvers(b),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"`+recorderName+`":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rangeThrough(t, ctx, conn, service)

	// A second key for the same member, and new metadata for the first,
	// update the connected address list.
	if err := em.Update(ctx, []*endpoints.UpdateWithOpts{
		endpoints.NewAddUpdateOpts(service+"/m0", endpoints.Endpoint{Addr: member, Metadata: map[string]any{"zone": "b"}}),
		endpoints.NewAddUpdateOpts(service+"/m0-again", endpoints.Endpoint{Addr: member, Metadata: meta}),
	}); err != nil {
		t.Fatal(err)
	}
	rangeThrough(t, ctx, conn, service)

	recorded.Lock()
	defer recorded.Unlock()
	if len(recorded.states) == 0 {
		t.Fatal("the balancer received no resolver state")
	}
	for _, s := range recorded.states {
		if len(s.Addresses) != 0 {
			t.Errorf("resolver state has Addresses %v; the official resolver sets only Endpoints", s.Addresses)
		}
		for _, ep := range s.Endpoints {
			if len(ep.Addresses) != 1 || ep.Addresses[0].Addr != member || ep.Addresses[0].Metadata != nil {
				t.Errorf("endpoint %+v; the official resolver pushes one address per endpoint, Addr %q and no Metadata", ep, member)
			}
		}
	}
}
