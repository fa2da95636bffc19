// Package naming is the root of two packages for service discovery
// through etcd:
//
//   - endpoints stores a service's endpoints under keys in etcd and
//     watches them (Manager).
//   - resolver is a gRPC resolver for the "etcd" scheme that dials the
//     endpoints a Manager stored.
//
// Register an endpoint, optionally bound to a lease so that it vanishes
// with its process:
//
//	em, err := endpoints.NewManager(cli, "my-service")
//	err = em.AddEndpoint(ctx, "my-service/"+addr, endpoints.Endpoint{Addr: addr}, clientv3.WithLease(id))
//
// Dial the service:
//
//	b, err := resolver.NewBuilder(cli)
//	conn, err := grpc.NewClient("etcd:///my-service", grpc.WithResolvers(b), ...)
package naming
