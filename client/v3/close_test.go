package clientv3_test

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// ourGoroutines returns the stacks of the running goroutines that run code
// of this module's client/v3 packages and were not started by a test, by
// goroutine ID.
func ourGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "_test.Test") {
			continue
		}
		if strings.Contains(g, "github.com/a74b11dd/etcdkit/client/v3.") || strings.Contains(g, "github.com/a74b11dd/etcdkit/client/v3/internal/") {
			out[strings.Fields(g)[1]] = g
		}
	}
	return out
}

// exitGrace is how long leftSince lets a goroutine finish returning. A
// goroutine that has said it ended (closed a channel, called Done) still
// runs its last instructions when its waiter goes on, and can be seen for
// that instant (CI saw one, runnable at its closing brace). The grace is
// far shorter than slowEndDelay, so a goroutine that Close did not wait
// for is still seen.
const exitGrace = 50 * time.Millisecond

// leftSince returns the stacks of our goroutines that did not run at the
// time of before, once those ending have had exitGrace to return.
func leftSince(before map[string]string) []string {
	deadline := time.Now().Add(exitGrace)
	for {
		var left []string
		for id, g := range ourGoroutines() {
			if _, ok := before[id]; !ok {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCloseReturnsOnlyOnceEveryGoroutineOfTheClientHasEnded(t *testing.T) {
	clus := startCluster(t, 3)
	before := ourGoroutines()
	cli := newClientOf(t, clus)
	ctx := ctxT(t)
	k := key(t, "k")
	put(t, cli, k, "v")
	// A silent member leaves reads unanswered past their bound: their
	// guards and hedges run in goroutines of the client's.
	must(t, "Stop", aFollower(t, clus).Stop())
	var readers sync.WaitGroup
	for range 16 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				if _, err := cli.Get(ctx, k); err != nil {
					return // the client closed
				}
			}
		}()
	}
	// Close while attempts on the silent member have outlived their bound
	// (300 ms) and before the prober declares it down (500 ms).
	time.Sleep(400 * time.Millisecond)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cli.Watch(wctx, k)
	lease, err := cli.Grant(ctx, 10)
	must(t, "Grant", err)
	if _, err := cli.KeepAlive(ctx, lease.ID); err != nil {
		t.Fatalf("KeepAlive: %v", err)
	}
	gctx, gcancel := context.WithCancel(ctx)
	defer gcancel()
	if _, err := cli.GetStream(gctx, k); err != nil {
		t.Fatalf("GetStream: %v", err)
	}
	cli.Close()
	left := leftSince(before)
	readers.Wait()
	if len(left) > 0 {
		t.Fatalf("%d goroutine(s) of the client still ran when Close returned:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

func TestClosingTheConnectionItselfEndsTheClientsBackgroundWork(t *testing.T) {
	// A program may close the gRPC connection instead of the client
	// (cli.ActiveConnection().Close()); nothing of the official client's
	// runs on after that, and nothing of ours may: watches end with the
	// connection's error, as the official ones do, keep-alives halt, and
	// the prober ends.
	before := ourGoroutines()
	cli := newClient(t)
	ctx := ctxT(t)
	put(t, cli, key(t, "k"), "v")
	if _, err := cli.Get(ctx, key(t, "k")); err != nil {
		t.Fatalf("Get: %v", err)
	}
	wch := cli.Watch(ctx, key(t, "k"))
	lease, err := cli.Grant(ctx, 10)
	must(t, "Grant", err)
	kch, err := cli.KeepAlive(ctx, lease.ID)
	must(t, "KeepAlive", err)
	if err := cli.ActiveConnection().Close(); err != nil {
		t.Fatalf("closing the connection: %v", err)
	}
	var last clientv3.WatchResponse
	for wr := range wch {
		last = wr
	}
	if status.Code(last.Err()) != codes.Canceled {
		t.Errorf("the watch ended with %v; want the closed connection's Canceled error", last.Err())
	}
	for range kch {
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := leftSince(before)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutine(s) of the client still run 2 s after its connection was closed:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
