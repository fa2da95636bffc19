package clientv3

import (
	"context"
	"errors"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// A hedge starts while the foreground attempt may be decoding into the
// call's reply: it must make its own reply without touching the caller's
// (run with -race: reply.ProtoReflect(), which initializes the message's
// state, raced with the decoding's Reset in CI).
func TestAHedgeMakesItsOwnReplyWithoutTouchingTheCallers(t *testing.T) {
	reply := &pb.RangeResponse{}
	decoded := make(chan struct{})
	go func() {
		defer close(decoded)
		reply.Reset() // the foreground attempt's decoding, unsynchronized with the hedge
	}()
	var g hedge
	var got any
	g.run(context.Background(), "", false, reply, func(_ context.Context, r any) error {
		got = r
		return errors.New("not sent")
	})
	<-decoded
	r, ok := got.(*pb.RangeResponse)
	if !ok || r == reply {
		t.Fatalf("the hedge was sent with reply %T (%p), want a fresh *RangeResponse distinct from the caller's (%p)", got, got, reply)
	}
}
