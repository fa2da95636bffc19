package clientv3_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

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
