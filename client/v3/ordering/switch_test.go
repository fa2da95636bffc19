package ordering_test

import (
	"context"
	"errors"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/ordering"
)

func TestSwitchClosureGivesUpAfterFiveTriesPerEndpointAndResetsOnProgress(t *testing.T) {
	cli := clientv3.NewCtxClient(context.Background())
	defer cli.Close()
	vf := ordering.NewOrderViolationSwitchEndpointClosure(cli)
	op := clientv3.OpGet("k")
	for i := 0; i < 5; i++ {
		if err := vf(op, clientv3.OpResponse{}, 10); err != nil {
			t.Fatalf("violation %d: %v, want a retry", i+1, err)
		}
	}
	if err := vf(op, clientv3.OpResponse{}, 10); !errors.Is(err, ordering.ErrNoGreaterRev) {
		t.Fatalf("sixth violation: %v, want ErrNoGreaterRev", err)
	}
	if err := vf(op, clientv3.OpResponse{}, 11); err != nil {
		t.Errorf("violation after a newer revision was seen: %v, want a fresh budget", err)
	}
}
