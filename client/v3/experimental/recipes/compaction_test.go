package recipe_test

import (
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	recipe "github.com/a74b11dd/etcdkit/client/v3/experimental/recipes"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// RWMutex and DoubleBarrier.Leave wait on a blocking key's deletion with a
// watch from the revision after the read that found it. When that watch
// comes back compacted (made again after the member dropped the
// connection, past a compaction), they read again and go on waiting, and
// get what they waited for once the blocker goes.
func TestRWMutexAndLeaveWaitThroughACompactionOfTheirWatch(t *testing.T) {
	c := etcdtest.NewCluster(t)
	m := c.Members()[0]
	for _, tc := range []struct {
		name string
		// block has holder take something under pfx and returns a wait
		// that blocks waiter on it, and what lets that wait return.
		block func(holder, waiter *clientv3.Client, pfx string) (wait, unblock func() error)
	}{
		{"RWMutex", func(holder, waiter *clientv3.Client, pfx string) (func() error, func() error) {
			w := recipe.NewRWMutex(newSession(t, holder), pfx)
			if err := w.Lock(); err != nil {
				t.Fatal(err)
			}
			return recipe.NewRWMutex(newSession(t, waiter), pfx).RLock, w.Unlock
		}},
		{"DoubleBarrier.Leave", func(holder, waiter *clientv3.Client, pfx string) (func() error, func() error) {
			first := recipe.NewDoubleBarrier(newSession(t, holder), pfx, 2)
			second := recipe.NewDoubleBarrier(newSession(t, waiter), pfx, 2)
			entered := make(chan error, 1)
			go func() { entered <- first.Enter() }()
			time.Sleep(100 * time.Millisecond) // first holds the oldest key
			if err := second.Enter(); err != nil {
				t.Fatal(err)
			}
			if err := <-entered; err != nil {
				t.Fatal(err)
			}
			// second leaves first and waits for the oldest key to go.
			return second.Leave, first.Leave
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := sharedcluster.Context(t)
			pfx := "/" + tc.name + "/"
			holder := sharedcluster.ClientOf(t, []string{m.Endpoint()})
			waiter := sharedcluster.ClientOf(t, []string{m.Endpoint()})
			wait, unblock := tc.block(holder, waiter, pfx)
			waited := make(chan error, 1)
			go func() { waited <- wait() }()
			time.Sleep(200 * time.Millisecond) // the waiter reads and watches
			if !blocked(waited) {
				t.Fatalf("%s returned before its blocker went", tc.name)
			}
			resp, err := waiter.Get(ctx, pfx, clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil {
				t.Fatal(err)
			}
			sharedcluster.WaitsThroughCompaction(t, ctx, m, waiter, pfx, resp.Header.Revision+1, tc.name, waited, unblock)
		})
	}
}
