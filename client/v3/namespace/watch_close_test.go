package namespace_test

import (
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/namespace"
)

func TestWatcherCloseClosesEveryChannelAndDropsUntakenResponses(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	w := namespace.NewWatcher(clientv3.NewWatcher(cli), pfx)

	untaken := w.Watch(ctx, "k", clientv3.WithCreatedNotify())
	taken := w.Watch(ctx, "k", clientv3.WithCreatedNotify())
	for _, wch := range []clientv3.WatchChan{untaken, taken} {
		if wr := <-wch; !wr.Created {
			t.Fatalf("first response %+v, want the created notification", wr)
		}
	}
	if _, err := cli.Put(ctx, pfx+"k", "v"); err != nil {
		t.Fatal(err)
	}
	// Take the event from one watch only: the other's is left for Close
	// to drop, whether or not it has reached the wrapper yet.
	if wr := <-taken; len(wr.Events) != 1 {
		t.Fatalf("watch response %+v, want the put", wr)
	}

	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for name, wch := range map[string]clientv3.WatchChan{"untaken": untaken, "taken": taken} {
		select {
		case wr, ok := <-wch:
			if ok {
				t.Errorf("%s channel delivered %+v after Close; the official wrapper drops it and closes the channel", name, wr)
			}
		default:
			t.Errorf("%s channel still open when Close returned; the official wrapper closes it before returning", name)
		}
	}
}
