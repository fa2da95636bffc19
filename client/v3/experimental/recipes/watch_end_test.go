package recipe_test

import (
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	recipe "github.com/a74b11dd/etcdkit/client/v3/experimental/recipes"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// closeWhileBlocked runs call, checks that it still blocks after a while,
// closes cli and returns what call returned.
func closeWhileBlocked(t *testing.T, cli *clientv3.Client, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	time.Sleep(200 * time.Millisecond)
	if !blocked(done) {
		t.Fatal("the call returned before its client was closed")
	}
	cli.Close()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("the call still blocks 30s after its client was closed")
		return nil
	}
}

func TestWaitEventsReturnsNoEventAndNoErrorWhenTheWatchEnds(t *testing.T) {
	key := sharedcluster.Prefix(t) + "k"
	waits := map[string]func(*clientv3.Client, string, int64, []mvccpb.Event_EventType) (*clientv3.Event, error){
		"WaitEvents":       recipe.WaitEvents,
		"WaitPrefixEvents": recipe.WaitPrefixEvents,
	}
	for name, wait := range waits {
		cli := sharedcluster.Client(t)
		resp, err := cli.Get(sharedcluster.Context(t), key)
		if err != nil {
			t.Fatal(err)
		}
		var ev *clientv3.Event
		err = closeWhileBlocked(t, cli, func() (err error) {
			ev, err = wait(cli, key, resp.Header.Revision+1, []mvccpb.Event_EventType{mvccpb.PUT})
			return err
		})
		if ev != nil || err != nil {
			t.Errorf("%s after its client closed: %v, %v; the official client returns nil, nil", name, ev, err)
		}
	}
}

func TestBarrierWaitReturnsNilWhenItsClientIsClosed(t *testing.T) {
	key := sharedcluster.Prefix(t) + "barrier"
	if err := recipe.NewBarrier(sharedcluster.Client(t), key).Hold(); err != nil {
		t.Fatal(err)
	}
	cli := sharedcluster.Client(t)
	b := recipe.NewBarrier(cli, key)
	if err := closeWhileBlocked(t, cli, b.Wait); err != nil {
		t.Errorf("Wait after its client closed: %v; the official client returns nil", err)
	}
}

func TestDequeueFailsWhenItsClientIsClosedWhileWaiting(t *testing.T) {
	pfx := sharedcluster.Prefix(t)
	cli := sharedcluster.Client(t)
	q := recipe.NewQueue(cli, pfx+"q")
	if err := closeWhileBlocked(t, cli, func() error { _, err := q.Dequeue(); return err }); err == nil {
		t.Error("Queue.Dequeue after its client closed returned no error; the official client panics, ours must fail")
	}
	cli = sharedcluster.Client(t)
	pq := recipe.NewPriorityQueue(cli, pfx+"pq")
	if err := closeWhileBlocked(t, cli, func() error { _, err := pq.Dequeue(); return err }); err == nil {
		t.Error("PriorityQueue.Dequeue after its client closed returned no error; the official client panics, ours must fail")
	}
}
