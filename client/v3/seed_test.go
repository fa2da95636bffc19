package clientv3_test

// This file holds the usage from the README the seed was taken from,
// verbatim except the import path (and `_ = resp` where the README leaves
// "use the response" to the reader), so that it keeps compiling against
// this package. seedBehaviour runs it against the shared cluster.

import (
	"context"
	"log"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

func seedCreateClient() {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"localhost:2379", "localhost:22379", "localhost:32379"},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		// handle error!
	}
	defer cli.Close()
}

func seedPut(cli *clientv3.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	resp, err := cli.Put(ctx, "sample_key", "sample_value")
	cancel()
	if err != nil {
		// handle error!
		return err
	}
	// use the response
	_ = resp
	return nil
}

func seedErrorHandling(cli *clientv3.Client, ctx context.Context) {
	resp, err := cli.Put(ctx, "", "")
	if err != nil {
		switch err {
		case context.Canceled:
			log.Fatalf("ctx is canceled by another routine: %v", err)
		case context.DeadlineExceeded:
			log.Fatalf("ctx is attached with a deadline is exceeded: %v", err)
		case rpctypes.ErrEmptyKey:
			log.Fatalf("client-side error: %v", err)
		default:
			log.Fatalf("bad cluster endpoints, which are not etcd servers: %v", err)
		}
	}
	_ = resp
}

var _ = seedErrorHandling // compiled, not run: every branch exits the process

func TestSeedCreateClientReturnsWithoutAReachableServer(t *testing.T) {
	// The README's endpoints have no server here; creating (and closing)
	// the client must still return promptly without error, as creation
	// does not wait for a connection.
	seedCreateClient()
}

func TestSeedPutSucceeds(t *testing.T) {
	cli := newClient(t)
	if err := seedPut(cli, 5*time.Second); err != nil {
		t.Fatalf("seed Put: %v", err)
	}
}

func TestSeedErrorSwitchSelectsTheBranchItNames(t *testing.T) {
	cli := newClient(t)
	branch := func(err error) string {
		switch err {
		case context.Canceled:
			return "canceled"
		case context.DeadlineExceeded:
			return "deadline"
		case rpctypes.ErrEmptyKey:
			return "empty key"
		default:
			return "default"
		}
	}
	_, err := cli.Put(ctxT(t), "", "")
	if got := branch(err); got != "empty key" {
		t.Errorf("Put(\"\", \"\"): err %v takes branch %q, want \"empty key\"", err, got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = cli.Put(ctx, "", "")
	if got := branch(err); got != "canceled" {
		t.Errorf("canceled ctx: err %v takes branch %q, want \"canceled\"", err, got)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	_, err = cli.Put(ctx, key(t, "k"), "v")
	if got := branch(err); got != "deadline" {
		t.Errorf("expired ctx: err %v takes branch %q, want \"deadline\"", err, got)
	}
}
