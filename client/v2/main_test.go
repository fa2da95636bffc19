package client

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
	"github.com/a74b11dd/etcdkit/internal/prober"
	"go.uber.org/goleak"
)

// shared is the cluster that tests which break nothing use, each under keys
// of its own (see key). Tests that inject faults start their own.
var shared *etcdtest.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	c, err := etcdtest.Start(ctx, etcdtest.WithVersion(etcdtest.V3_5), etcdtest.WithV2(), etcdtest.WithSize(3))
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the shared etcd cluster:", err)
		os.Exit(1)
	}
	shared = c
	code := m.Run()
	shared.Close()
	// Every client's prober ends by itself once the client is idle; wait
	// for that rather than count them as leaks.
	if err := waitProbersEnded(10 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	// Connections idle in the package-wide transport would count as
	// leaked goroutines.
	DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitProbersEnded waits until no client has a prober goroutine.
func waitProbersEnded(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for prober.Running() > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d probers still running %v after the last test", prober.Running(), limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}
