// Package sharedcluster gives the tests of one package a single etcd
// cluster, started on first use and stopped when the package's tests end,
// and clients to it that the test closes automatically.
//
// Use it from TestMain together with goleak:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(sharedcluster.Wrap(m)) }
//
// Tests that only exercise pure logic never start a server.
package sharedcluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

var (
	mu      sync.Mutex
	cluster *etcdtest.Cluster
	options []etcdtest.Option
)

// runner is what goleak.VerifyTestMain needs: a Run that returns the exit
// code.
type runner struct{ m *testing.M }

// Wrap returns m with a Run that stops the shared cluster, if one was
// started, after the tests and before goleak looks for leaked goroutines.
// opts configure the cluster (default: one etcd 3.7 member).
func Wrap(m *testing.M, opts ...etcdtest.Option) interface{ Run() int } {
	options = opts
	return runner{m}
}

func (r runner) Run() int {
	code := r.m.Run()
	mu.Lock()
	defer mu.Unlock()
	if cluster != nil {
		cluster.Close()
		cluster = nil
	}
	return code
}

// Cluster returns the package's shared cluster, starting it on first use.
// It fails t if the cluster cannot start.
func Cluster(t testing.TB) *etcdtest.Cluster {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if cluster == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		c, err := etcdtest.Start(ctx, options...)
		if err != nil {
			t.Fatalf("starting the shared etcd cluster: %v", err)
		}
		cluster = c
	}
	return cluster
}

// Client returns a new client of the shared cluster (or of c, if given a
// cluster of the test's own) that is closed when t ends. mods adjust the
// configuration before the client is made.
func Client(t testing.TB, mods ...func(*clientv3.Config)) *clientv3.Client {
	t.Helper()
	return ClientOf(t, Cluster(t).Endpoints(), mods...)
}

// ClientOf returns a new client of the given endpoints that is closed when t
// ends.
func ClientOf(t testing.TB, endpoints []string, mods ...func(*clientv3.Config)) *clientv3.Client {
	t.Helper()
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second}
	for _, m := range mods {
		m(&cfg)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatalf("clientv3.New(%v): %v", endpoints, err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

var (
	prefixes sync.Map // testing.TB -> string
	runs     atomic.Int64
)

// Prefix returns a key prefix unique to t, so that tests sharing a cluster
// never see each other's keys, not even those of an earlier run of the
// same test (go test -count). Every call for one t returns the same
// prefix.
func Prefix(t testing.TB) string {
	if p, ok := prefixes.Load(t); ok {
		return p.(string)
	}
	p := fmt.Sprintf("%s.%d/", strings.NewReplacer(" ", "_").Replace(t.Name()), runs.Add(1))
	p2, _ := prefixes.LoadOrStore(t, p)
	t.Cleanup(func() { prefixes.Delete(t) })
	return p2.(string)
}

// Context returns a context that ends when t ends or after a minute, so
// that a hung call fails the test instead of stalling the run.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
