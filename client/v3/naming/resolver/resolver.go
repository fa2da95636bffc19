// Package resolver is a gRPC name resolver for the "etcd" scheme: a target
// "etcd:///my-service" resolves to the endpoints that an
// endpoints.Manager for "my-service" stored in etcd, and follows them as
// they change.
package resolver

import (
	"context"
	"sync"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/naming/endpoints"
	"google.golang.org/grpc/codes"
	gresolver "google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"
)

// scheme is the URI scheme this resolver serves.
const scheme = "etcd"

type builder struct {
	c *clientv3.Client
}

// NewBuilder returns a resolver builder for the "etcd" scheme that reads
// endpoints through client. Pass it to grpc.NewClient with
// grpc.WithResolvers. It never fails: as with the official builder, a nil
// client is reported by Build, when gRPC first resolves a target.
func NewBuilder(client *clientv3.Client) (gresolver.Builder, error) {
	return builder{c: client}, nil
}

func (b builder) Scheme() string { return scheme }

// Build starts following the endpoints of the target's service. Its errors
// are gRPC statuses, as gRPC passes them on to the caller: InvalidArgument
// when no endpoint manager can be made (nil client, empty service name),
// Internal when the current endpoints cannot be read.
func (b builder) Build(target gresolver.Target, cc gresolver.ClientConn, _ gresolver.BuildOptions) (gresolver.Resolver, error) {
	em, err := endpoints.NewManager(b.c, target.Endpoint())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "resolver: failed to new endpoint manager: %s", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wch, err := em.NewWatchChannel(ctx)
	if err != nil {
		cancel()
		return nil, status.Errorf(codes.Internal, "resolver: failed to new watch channer: %s", err)
	}
	r := &etcdResolver{cc: cc, cancel: cancel}
	r.wg.Add(1)
	go r.run(wch)
	return r, nil
}

type etcdResolver struct {
	cc     gresolver.ClientConn
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// run keeps the connection's endpoint list equal to the stored endpoints
// until the watch channel closes. When the watch ends on its own (the etcd
// client was closed, the watch failed) the connection keeps the last list,
// as with the official resolver: the service's servers may well still be
// there.
func (r *etcdResolver) run(wch endpoints.WatchChannel) {
	defer r.wg.Done()
	eps := make(map[string]endpoints.Endpoint)
	for ups := range wch {
		for _, u := range ups {
			switch u.Op {
			case endpoints.Add:
				eps[u.Key] = u.Endpoint
			case endpoints.Delete:
				delete(eps, u.Key)
			}
		}
		// An error here only says the balancer did not like the list
		// (for example an empty one); the next change retries.
		_ = r.cc.UpdateState(gresolver.State{Endpoints: grpcEndpoints(eps)})
	}
}

// grpcEndpoints turns the stored endpoints into gRPC endpoints of one
// address each, carrying only Addr. Metadata is left out, as the official
// resolver leaves it out: gRPC compares addresses' Metadata with ==, which
// panics on the maps that JSON objects decode to. The order is that of map
// iteration, unspecified as the official's is, so that clients using
// pick_first spread over the servers instead of all taking the same one.
func grpcEndpoints(eps map[string]endpoints.Endpoint) []gresolver.Endpoint {
	var out []gresolver.Endpoint
	for _, ep := range eps {
		out = append(out, gresolver.Endpoint{Addresses: []gresolver.Address{{Addr: ep.Addr}}})
	}
	return out
}

// ResolveNow does nothing: the resolver is pushed every change by its
// watch.
func (r *etcdResolver) ResolveNow(gresolver.ResolveNowOptions) {}

// Close stops the watch and waits for the resolver's goroutine.
func (r *etcdResolver) Close() {
	r.cancel()
	r.wg.Wait()
}
