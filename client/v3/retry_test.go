package clientv3_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// These tests break members, so they share one 3-member cluster of their
// own, run in order: kill one member, then cut connections.
func TestRetriesAcrossMemberFaults(t *testing.T) {
	c := startCluster(t, 3)
	cli := newClientOf(t, c)
	ctx := ctxT(t)
	put(t, cli, "/retry/k", "v")

	t.Run("GetSucceedsWhileAMemberIsKilled", func(t *testing.T) {
		victim := c.Members()[0]
		var failures atomic.Int32
		var firstErr atomic.Value
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					_, err := cli.Get(cctx, "/retry/k")
					cancel()
					if err != nil {
						failures.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}()
		}
		time.Sleep(200 * time.Millisecond)
		if err := victim.Kill(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(700 * time.Millisecond)
		close(stop)
		wg.Wait()
		if n := failures.Load(); n != 0 {
			t.Fatalf("%d Gets failed while one of 3 members was killed (first: %v), want none", n, firstErr.Load())
		}
		if err := victim.Restart(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("PutIsNeverAppliedTwice", func(t *testing.T) {
		before, err := cli.Get(ctx, "/retry/")
		if err != nil {
			t.Fatal(err)
		}
		const n = 300
		var wg sync.WaitGroup
		var next atomic.Int32
		var okPuts atomic.Int32
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > n {
						return
					}
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					_, err := cli.Put(cctx, fmt.Sprintf("/retry/once/%04d", i), "v")
					cancel()
					if err == nil {
						okPuts.Add(1)
					}
				}
			}()
		}
		time.Sleep(30 * time.Millisecond)
		c.Members()[1].DropConnections()
		c.Members()[2].Kill()
		wg.Wait()

		resp, err := cli.Get(ctx, "/retry/once/", clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			if kv.Version != 1 {
				t.Errorf("%s has version %d: a Put was applied %d times", kv.Key, kv.Version, kv.Version)
			}
		}
		// Every applied Put took exactly one revision.
		if applied := resp.Header.Revision - before.Header.Revision; applied != int64(len(resp.Kvs)) {
			t.Errorf("%d revisions for %d keys: some Put was applied more than once", applied, len(resp.Kvs))
		}
		if int(okPuts.Load()) > len(resp.Kvs) {
			t.Errorf("%d Puts reported success but only %d keys exist", okPuts.Load(), len(resp.Kvs))
		}
		t.Logf("%d of %d Puts succeeded through the faults", okPuts.Load(), n)
	})
}
