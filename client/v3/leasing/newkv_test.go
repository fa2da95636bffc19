package leasing_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/leasing"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// failingRPCs makes chosen unary calls of a client fail without reaching
// etcd, and counts the calls it failed.
type failingRPCs struct {
	mu     sync.Mutex
	failed map[string]int
	// fail reports whether the call of method with request req, the
	// n-th such call failed so far, fails too.
	fail func(method string, req any, n int) bool
}

var errInjected = errors.New("injected failure")

func (f *failingRPCs) option(cfg *clientv3.Config) {
	cfg.DialOptions = append(cfg.DialOptions, grpc.WithChainUnaryInterceptor(
		func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			f.mu.Lock()
			name := method[strings.LastIndex(method, "/")+1:]
			if f.fail(name, req, f.failed[name]) {
				f.failed[name]++
				f.mu.Unlock()
				return errInjected
			}
			f.mu.Unlock()
			return invoker(ctx, method, req, reply, cc, opts...)
		}))
}

func (f *failingRPCs) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed[method]
}

func TestNewKVKeepsTryingWhileCreatingItsSessionOrReadingTheLeasingKeysFails(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lpfx := pfx + "leases/"
	faults := &failingRPCs{failed: map[string]int{}, fail: func(method string, req any, n int) bool {
		switch method {
		case "LeaseGrant":
			return n < 3
		case "Range":
			r, ok := req.(*pb.RangeRequest)
			return ok && string(r.Key) == lpfx && n < 3
		}
		return false
	}}
	cli := sharedcluster.Client(t, faults.option)
	if _, err := cli.Put(ctx, pfx+"k", "v"); err != nil {
		t.Fatal(err)
	}

	lkv, closeLKV, err := leasing.NewKV(cli, lpfx)
	if lkv == nil || closeLKV == nil {
		t.Fatalf("NewKV returned KV %v and close function %p; want both non-nil, as from the official NewKV", lkv, closeLKV)
	}
	defer closeLKV()
	if err != nil {
		t.Fatalf("NewKV after 3 failed session grants and 3 failed reads: %v; want it to keep trying and succeed, as the official NewKV does", err)
	}
	if n, m := faults.count("LeaseGrant"), faults.count("Range"); n != 3 || m != 3 {
		t.Fatalf("%d session grants and %d reads of the leasing keys failed; the test meant 3 of each", n, m)
	}
	// The KV works fully: the first Get takes the key, the next is cached.
	if got := valueOf(t, ctx, lkv, pfx+"k"); got != "v" {
		t.Errorf("Get = %q, want v", got)
	}
	lk, err := cli.Get(ctx, lpfx+pfx+"k")
	if err != nil {
		t.Fatal(err)
	}
	if len(lk.Kvs) != 1 {
		t.Errorf("no leasing key after the first Get; want the key taken once NewKV has returned")
	}
}

func TestNewKVWaitsForASessionUntilTheClientIsClosedThenReturnsAUsableKVAndCloseFunction(t *testing.T) {
	faults := &failingRPCs{failed: map[string]int{}, fail: func(method string, _ any, _ int) bool {
		return method == "LeaseGrant"
	}}
	cli := sharedcluster.Client(t, faults.option)
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		time.Sleep(500 * time.Millisecond)
		cli.Close()
	}()
	defer func() { <-closed }()
	lkv, closeLKV, err := leasing.NewKV(cli, sharedcluster.Prefix(t)+"leases/")
	if err != context.Canceled {
		t.Errorf("NewKV on a client closed while no session could be made = %v; want context.Canceled, as from the official NewKV", err)
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Errorf("NewKV gave up after %v, before the client was closed; the official one waits for it", took)
	}
	if lkv == nil || closeLKV == nil {
		t.Fatalf("NewKV returned KV %v and close function %p with its error; want both non-nil, as from the official NewKV", lkv, closeLKV)
	}
	closeLKV()
	closeLKV()
	if _, err := lkv.Get(sharedcluster.Context(t), "k"); err == nil {
		t.Errorf("Get through the KV of a closed client succeeded")
	}
}

func TestNewKVOnAClosedClientReturnsAUsableKVAndCloseFunctionWithContextCanceled(t *testing.T) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: sharedcluster.Cluster(t).Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_ = cli.Close()
	lkv, closeLKV, err := leasing.NewKV(cli, sharedcluster.Prefix(t)+"leases/")
	if err != context.Canceled {
		t.Errorf("NewKV on a closed client = %v; want context.Canceled, as from the official NewKV", err)
	}
	if lkv == nil || closeLKV == nil {
		t.Fatalf("NewKV returned KV %v and close function %p; want both non-nil, as from the official NewKV", lkv, closeLKV)
	}
	defer closeLKV()
	ctx := sharedcluster.Context(t)
	if _, err := lkv.Put(ctx, "k", "v"); err == nil {
		t.Errorf("Put through the KV of a closed client succeeded")
	}
	if _, err := lkv.Txn(ctx).Then(clientv3.OpGet("k")).Commit(); err == nil {
		t.Errorf("Txn through the KV of a closed client succeeded")
	}
}

// TestNewKVDoesNotWaitForARevocationWatchThatCannotStart: reading the
// leasing keys fails for a reason that will not go away (here, as without
// the permission); the official NewKV does not read them and returns, so
// ours returns too, and takes no key until it watches for revocations.
func TestNewKVDoesNotWaitForARevocationWatchThatCannotStart(t *testing.T) {
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	lpfx := pfx + "leases/"
	denied := status.Error(codes.PermissionDenied, "etcdserver: permission denied")
	cli := sharedcluster.Client(t, func(cfg *clientv3.Config) {
		cfg.DialOptions = append(cfg.DialOptions, grpc.WithChainUnaryInterceptor(
			func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				if r, ok := req.(*pb.RangeRequest); ok && string(r.Key) == lpfx {
					return denied
				}
				return invoker(ctx, method, req, reply, cc, opts...)
			}))
	})
	if _, err := cli.Put(ctx, pfx+"k", "v"); err != nil {
		t.Fatal(err)
	}
	nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	type result struct {
		lkv      clientv3.KV
		closeLKV func()
		err      error
	}
	done := make(chan result, 1)
	go func() {
		lkv, closeLKV, err := leasing.NewKV(cli, lpfx)
		done <- result{lkv, closeLKV, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-nctx.Done():
		cli.Close()
		r = <-done
		if r.closeLKV != nil {
			r.closeLKV()
		}
		t.Fatal("NewKV still waited after 5 s although reading the leasing keys was denied; the official NewKV returns once it has a session")
	}
	defer r.closeLKV()
	if r.err != nil {
		t.Fatalf("NewKV = %v; want no error, as from the official NewKV", r.err)
	}
	if got := valueOf(t, ctx, r.lkv, pfx+"k"); got != "v" {
		t.Errorf("Get = %q, want v", got)
	}
	if n := leasingKeys(t, ctx, sharedcluster.Client(t), lpfx); n != 0 {
		t.Errorf("%d leasing keys taken without a revocation watch; want none", n)
	}
}
