package clientv3_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// shared is the package's 3-member etcd 3.7 cluster. Tests use fresh keys
// under their own name and never break it; tests that inject faults start
// their own cluster.
var shared *etcdtest.Cluster

// withCluster runs the tests with the shared cluster up, and stops it
// before goleak looks for leftover goroutines.
type withCluster struct{ m *testing.M }

func (w withCluster) Run() int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	c, err := etcdtest.Start(ctx, etcdtest.WithSize(3))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting shared etcd cluster:", err)
		return 1
	}
	shared = c
	defer c.Close()
	return w.m.Run()
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(withCluster{m}) }

// newClient returns a client of the shared cluster, closed when t ends.
func newClient(t testing.TB, mod ...func(*clientv3.Config)) *clientv3.Client {
	t.Helper()
	return newClientOf(t, shared, mod...)
}

func newClientOf(t testing.TB, c *etcdtest.Cluster, mod ...func(*clientv3.Config)) *clientv3.Client {
	t.Helper()
	cfg := clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	for _, f := range mod {
		f(&cfg)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatalf("clientv3.New: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// ctxT returns a context that ends with the test, bounded to 20 seconds.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testRuns numbers each run of a test, so that -count=N reruns against
// the shared cluster get fresh keys too.
var (
	testRuns sync.Map // testing.TB -> int64
	lastRun  atomic.Int64
)

// key returns a key unique to this run of the test.
func key(t testing.TB, suffix string) string {
	run, _ := testRuns.LoadOrStore(t, lastRun.Add(1))
	return fmt.Sprintf("/%s#%d/%s", strings.ReplaceAll(t.Name(), "/", "_"), run, suffix)
}

// startCluster starts a 3.7 cluster of n members for a test that breaks
// it; it is removed when t ends.
func startCluster(t testing.TB, n int, opts ...etcdtest.Option) *etcdtest.Cluster {
	t.Helper()
	return etcdtest.NewCluster(t, append([]etcdtest.Option{etcdtest.WithSize(n)}, opts...)...)
}
