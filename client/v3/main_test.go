package clientv3

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.uber.org/goleak"
)

// sharedCluster serves the tests that do not break their cluster; each
// test uses keys under its own name.
var sharedCluster *etcdtest.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	c, err := etcdtest.Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the shared etcd cluster:", err)
		os.Exit(1)
	}
	sharedCluster = c
	code := m.Run()
	c.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
