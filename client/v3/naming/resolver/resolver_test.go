package resolver_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/naming/endpoints"
	"github.com/a74b11dd/etcdkit/client/v3/naming/resolver"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	gresolver "google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"
)

// startServer runs a gRPC server whose health service knows only the
// service called name, so that a health check tells which server answered.
func startServer(t *testing.T, name string) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			srv.Stop()
		}
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// waitServedBy calls the health service until the server called name
// answers.
func waitServedBy(t *testing.T, ctx context.Context, hc healthpb.HealthClient, name string) {
	t.Helper()
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: name})
		cancel()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("server %s never answered: last error %v", name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestResolverDialsRegisteredEndpointsAndFollowsChanges(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	service := sharedcluster.Prefix(t) + "svc"
	em, err := endpoints.NewManager(cli, service)
	if err != nil {
		t.Fatal(err)
	}
	addrA, stopA := startServer(t, "A")
	addrB, _ := startServer(t, "B")
	if err := em.AddEndpoint(ctx, service+"/a", endpoints.Endpoint{Addr: addrA}); err != nil {
		t.Fatal(err)
	}

	b, err := resolver.NewBuilder(cli)
	if err != nil {
		t.Fatal(err)
	}
	if b.Scheme() != "etcd" {
		t.Errorf("Scheme() = %q, want etcd", b.Scheme())
	}
	conn, err := grpc.NewClient("etcd:///"+service, grpc.WithResolvers(b),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	waitServedBy(t, ctx, hc, "A")

	// Move the service from A to B: the connection follows.
	err = em.Update(ctx, []*endpoints.UpdateWithOpts{
		endpoints.NewDeleteUpdateOpts(service + "/a"),
		endpoints.NewAddUpdateOpts(service+"/b", endpoints.Endpoint{Addr: addrB}),
	})
	if err != nil {
		t.Fatal(err)
	}
	stopA()
	waitServedBy(t, ctx, hc, "B")
}

func TestBuildWithANilClientFailsWithInvalidArgument(t *testing.T) {
	b, err := resolver.NewBuilder(nil)
	if err != nil {
		t.Fatalf("NewBuilder(nil) = %v; the official NewBuilder never fails", err)
	}
	_, err = b.Build(gresolver.Target{URL: url.URL{Scheme: "etcd", Path: "/svc"}}, nil, gresolver.BuildOptions{})
	const want = "resolver: failed to new endpoint manager: invalid etcd client"
	if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != want {
		t.Errorf("Build with a nil client = %v; the official returns status InvalidArgument %q", err, want)
	}
}

func TestBuildWithAClosedClientFailsWithInternal(t *testing.T) {
	cli := sharedcluster.Client(t)
	cli.Close()
	b, err := resolver.NewBuilder(cli)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Build(gresolver.Target{URL: url.URL{Scheme: "etcd", Path: "/svc"}}, nil, gresolver.BuildOptions{})
	const prefix = "resolver: failed to new watch channer: "
	if status.Code(err) != codes.Internal || !strings.HasPrefix(status.Convert(err).Message(), prefix) {
		t.Errorf("Build when the endpoints cannot be read = %v; the official returns status Internal %q followed by the read's error", err, prefix)
	}
}
