package balancer

import (
	"sync"

	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/resolver"

	"github.com/a74b11dd/etcdkit/client/v3/internal/endpoint"
)

// Scheme is the target scheme of the client's resolver. Each client passes
// its own Resolver with grpc.WithResolvers, so clients do not share state.
const Scheme = "etcdkit"

type securityKey struct{}

// SecurityOf returns the transport security the endpoint behind an
// address's attributes asks for.
func SecurityOf(attrs *attributes.Attributes) endpoint.Security {
	s, _ := attrs.Value(securityKey{}).(endpoint.Security)
	return s
}

// Resolver publishes a client's endpoints to its gRPC connection. It is a
// resolver.Builder; SetEndpoints updates every resolver it built.
type Resolver struct {
	health *Health

	// pushMu orders pushes so an older list never overwrites a newer
	// one; mu guards the fields and is never held while calling gRPC.
	pushMu sync.Mutex
	mu     sync.Mutex
	addrs  []resolver.Address
	ccs    map[*instance]struct{}
	// onClose is called when gRPC closes a resolver it built: when its
	// connection shuts down, and when the connection goes idle.
	onClose func()
}

// OnClose sets f to be called whenever gRPC closes a resolver built by r:
// when the connection shuts down (whoever closed it), and when it goes
// idle, which f must tell apart. Set it before the connection is used.
func (r *Resolver) OnClose(f func()) {
	r.mu.Lock()
	r.onClose = f
	r.mu.Unlock()
}

// NewResolver returns a Resolver that tags its addresses with h.
func NewResolver(h *Health) *Resolver {
	return &Resolver{health: h, ccs: make(map[*instance]struct{})}
}

// Scheme implements resolver.Builder.
func (r *Resolver) Scheme() string { return Scheme }

// Build implements resolver.Builder. gRPC may build again after an idle
// period; each build starts with the current endpoints.
func (r *Resolver) Build(_ resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	in := &instance{r: r, cc: cc}
	r.pushMu.Lock()
	defer r.pushMu.Unlock()
	r.mu.Lock()
	r.ccs[in] = struct{}{}
	addrs := r.addrs
	r.mu.Unlock()
	in.push(addrs)
	return in, nil
}

// SetEndpoints replaces the published endpoints.
func (r *Resolver) SetEndpoints(eps []endpoint.Endpoint) {
	addrs := make([]resolver.Address, 0, len(eps))
	targets := make([]string, 0, len(eps))
	for _, ep := range eps {
		targets = append(targets, ep.DialTarget())
		a := resolver.Address{
			Addr:       ep.DialTarget(),
			ServerName: ep.ServerName,
			Attributes: attributes.New(securityKey{}, ep.Security),
		}
		addrs = append(addrs, withHealth(a, r.health))
	}
	r.health.setCurrent(targets)
	r.pushMu.Lock()
	defer r.pushMu.Unlock()
	r.mu.Lock()
	r.addrs = addrs
	ins := make([]*instance, 0, len(r.ccs))
	for in := range r.ccs {
		ins = append(ins, in)
	}
	r.mu.Unlock()
	for _, in := range ins {
		in.push(addrs)
	}
}

// Health returns the Health the resolver's addresses carry.
func (r *Resolver) Health() *Health { return r.health }

type instance struct {
	r  *Resolver
	cc resolver.ClientConn
}

func (in *instance) push(addrs []resolver.Address) {
	// An error here means the balancer rejected an empty list; it asks
	// for re-resolution, which republishes the same list. Nothing to do.
	_ = in.cc.UpdateState(resolver.State{Addresses: addrs})
}

func (in *instance) ResolveNow(resolver.ResolveNowOptions) {}

func (in *instance) Close() {
	in.r.mu.Lock()
	delete(in.r.ccs, in)
	f := in.r.onClose
	in.r.mu.Unlock()
	if f != nil {
		f()
	}
}

// Has reports whether target is the dial target of a published endpoint.
func (r *Resolver) Has(target string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.addrs {
		if a.Addr == target {
			return true
		}
	}
	return false
}

// Len returns how many endpoints are published.
func (r *Resolver) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.addrs)
}
