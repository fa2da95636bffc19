// Package resolver is a gRPC name resolver for the "etcd" scheme: a target
// "etcd:///my-service" resolves to the endpoints that an
// endpoints.Manager for "my-service" stored in etcd, and follows them as
// they change.
package resolver

import (
	"context"
	"errors"
	"sort"
	"sync"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/naming/endpoints"
	gresolver "google.golang.org/grpc/resolver"
)

// scheme is the URI scheme this resolver serves.
const scheme = "etcd"

// errWatchEnded is reported to gRPC when the endpoint watch stops while
// the resolver is still in use (for example because the etcd client was
// closed).
var errWatchEnded = errors.New("resolver: watch of the service's endpoints ended")

type builder struct {
	c *clientv3.Client
}

// NewBuilder returns a resolver builder for the "etcd" scheme that reads
// endpoints through client. Pass it to grpc.NewClient with
// grpc.WithResolvers.
func NewBuilder(client *clientv3.Client) (gresolver.Builder, error) {
	if client == nil {
		return nil, errors.New("resolver: nil etcd client")
	}
	return builder{c: client}, nil
}

func (b builder) Scheme() string { return scheme }

func (b builder) Build(target gresolver.Target, cc gresolver.ClientConn, _ gresolver.BuildOptions) (gresolver.Resolver, error) {
	em, err := endpoints.NewManager(b.c, target.Endpoint())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	wch, err := em.NewWatchChannel(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	r := &etcdResolver{cc: cc, cancel: cancel}
	r.wg.Add(1)
	go r.run(ctx, wch)
	return r, nil
}

type etcdResolver struct {
	cc     gresolver.ClientConn
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// run keeps the connection's address list equal to the stored endpoints.
func (r *etcdResolver) run(ctx context.Context, wch endpoints.WatchChannel) {
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
		_ = r.cc.UpdateState(gresolver.State{Addresses: addresses(eps)})
	}
	if ctx.Err() == nil {
		r.cc.ReportError(errWatchEnded)
	}
}

// addresses lists the endpoints in key order, so that the same set always
// gives the same list.
func addresses(eps map[string]endpoints.Endpoint) []gresolver.Address {
	keys := make([]string, 0, len(eps))
	for k := range eps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	addrs := make([]gresolver.Address, 0, len(keys))
	for _, k := range keys {
		ep := eps[k]
		addrs = append(addrs, gresolver.Address{Addr: ep.Addr, Metadata: ep.Metadata})
	}
	return addrs
}

// ResolveNow does nothing: the resolver is pushed every change by its
// watch.
func (r *etcdResolver) ResolveNow(gresolver.ResolveNowOptions) {}

// Close stops the watch and waits for the resolver's goroutine.
func (r *etcdResolver) Close() {
	r.cancel()
	r.wg.Wait()
}
