package clientv3_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

func TestCanceledContextGivesContextCanceledItself(t *testing.T) {
	cli := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, call := range map[string]func() error{
		"Get":        func() error { _, err := cli.Get(ctx, "k"); return err },
		"Put":        func() error { _, err := cli.Put(ctx, "k", "v"); return err },
		"Txn":        func() error { _, err := cli.Txn(ctx).Commit(); return err },
		"MemberList": func() error { _, err := cli.MemberList(ctx); return err },
		"Status":     func() error { _, err := cli.Status(ctx, cli.Endpoints()[0]); return err },
		"UserList":   func() error { _, err := cli.UserList(ctx); return err },
	} {
		if err := call(); err != context.Canceled {
			t.Errorf("%s: err = %v (%T), want context.Canceled itself", name, err, err)
		}
	}
}

func TestExpiredDeadlineGivesDeadlineExceededItself(t *testing.T) {
	c := startCluster(t, 1)
	cli := newClientOf(t, c)
	// A stopped member never answers: the call can only end by deadline.
	c.Members()[0].Stop()
	defer c.Members()[0].Resume()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := cli.Get(ctx, "k")
	if err != context.DeadlineExceeded {
		t.Fatalf("err = %v (%T), want context.DeadlineExceeded itself", err, err)
	}
}

func TestServerErrorsCompareEqualAndMatchErrorsIs(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	_, err := cli.Get(ctx, key(t, "k"), clientv3.WithRev(1<<40))
	if err != rpctypes.ErrFutureRev || !errors.Is(err, rpctypes.ErrFutureRev) {
		t.Errorf("future revision: err = %v, want == and errors.Is ErrFutureRev", err)
	}
	_, err = cli.UserGet(ctx, "no-such-user-"+t.Name())
	if err != rpctypes.ErrUserNotFound || !errors.Is(err, rpctypes.ErrUserNotFound) {
		t.Errorf("unknown user: err = %v, want == and errors.Is ErrUserNotFound", err)
	}
	var ee rpctypes.EtcdError
	if !errors.As(err, &ee) || ee.Code() != codes.FailedPrecondition {
		t.Errorf("errors.As(EtcdError) on %v: code %v, want FailedPrecondition", err, ee.Code())
	}
}

func TestContextErrorMapsStatusAndContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := clientv3.ContextError(ctx, status.Error(codes.Canceled, "x")); got != context.Canceled {
		t.Errorf("ContextError(canceled ctx, Canceled status) = %v, want context.Canceled", got)
	}
	if got := clientv3.ContextError(context.Background(), rpctypes.ErrGRPCNoLeader); got != rpctypes.ErrNoLeader {
		t.Errorf("ContextError(ErrGRPCNoLeader) = %v, want rpctypes.ErrNoLeader", got)
	}
	if got := clientv3.ContextError(context.Background(), nil); got != nil {
		t.Errorf("ContextError(nil) = %v, want nil", got)
	}
	plain := errors.New("plain")
	if got := clientv3.ContextError(context.Background(), plain); got != plain {
		t.Errorf("ContextError(plain) = %v, want it unchanged", got)
	}
}

func TestCallAfterCloseIsConnCanceled(t *testing.T) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: shared.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Get(ctxT(t), "k"); err != nil {
		t.Fatalf("Get before Close: %v", err)
	}
	if err := cli.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err = cli.Get(context.Background(), "k")
	if !clientv3.IsConnCanceled(err) {
		t.Fatalf("Get after Close: err = %v, want IsConnCanceled", err)
	}
	if cli.Ctx().Err() != context.Canceled {
		t.Errorf("Ctx().Err() after Close = %v, want context.Canceled", cli.Ctx().Err())
	}
}

func TestADeadlineStatusPastTheDeadlineIsContextDeadlineExceeded(t *testing.T) {
	// gRPC may report an expired deadline a moment before the context's
	// own timer marks it done; the caller still gets the context's error.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	// A context whose deadline passed but that is not yet done: its
	// Err is nil, as in that moment.
	early := notYetDone{ctx}
	st := status.Error(codes.DeadlineExceeded, "context deadline exceeded")
	if got := clientv3.ContextError(early, st); got != context.DeadlineExceeded {
		t.Errorf("ContextError(deadline status, deadline passed) = %v, want context.DeadlineExceeded", got)
	}
}

// notYetDone is a context whose deadline may have passed but whose Err is
// still nil.
type notYetDone struct{ context.Context }

func (notYetDone) Err() error { return nil }
