package concurrency_test

import (
	"context"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// A waiter whose watch on the contender ahead of it comes back compacted
// (it is made again after the member dropped the connection, from a
// revision compacted meanwhile) reads the queue again and goes on waiting:
// it gets what it waited for once the contender ahead leaves. The official
// Lock and Campaign return ErrCompacted there, giving up their place.
func TestLockAndCampaignWaitThroughACompactionOfTheirWatch(t *testing.T) {
	c := etcdtest.NewCluster(t)
	m := c.Members()[0]
	for _, tc := range []struct {
		name string
		// hold makes s the holder; wait queues s behind it and blocks;
		// release lets the next one in.
		hold, wait func(ctx context.Context, s *concurrency.Session, pfx string) (release func() error, err error)
	}{
		{"Lock", lockIn, lockIn},
		{"Campaign", campaignIn, campaignIn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := sharedcluster.Context(t)
			pfx := "/" + tc.name + "/"
			holderCli := sharedcluster.ClientOf(t, []string{m.Endpoint()})
			waiterCli := sharedcluster.ClientOf(t, []string{m.Endpoint()})
			release, err := tc.hold(ctx, newSession(t, holderCli), pfx)
			if err != nil {
				t.Fatal(err)
			}
			waited := make(chan error, 1)
			go func() {
				_, err := tc.wait(ctx, newSession(t, waiterCli), pfx)
				waited <- err
			}()
			queued := waitQueued(t, ctx, holderCli, pfx, 2)
			// The waiter watches from the revision after the read that
			// found the holder.
			sharedcluster.WaitsThroughCompaction(t, ctx, m, waiterCli, pfx, queued+1, tc.name, waited, release)
		})
	}
}

func lockIn(ctx context.Context, s *concurrency.Session, pfx string) (func() error, error) {
	mu := concurrency.NewMutex(s, pfx)
	if err := mu.Lock(ctx); err != nil {
		return nil, err
	}
	return func() error { return mu.Unlock(ctx) }, nil
}

func campaignIn(ctx context.Context, s *concurrency.Session, pfx string) (func() error, error) {
	e := concurrency.NewElection(s, pfx)
	if err := e.Campaign(ctx, "v"); err != nil {
		return nil, err
	}
	return func() error { return e.Resign(ctx) }, nil
}

// waitQueued waits until n keys are under pfx and returns the revision of
// the read that saw them.
func waitQueued(t *testing.T, ctx context.Context, cli *clientv3.Client, pfx string, n int64) int64 {
	t.Helper()
	for {
		resp, err := cli.Get(ctx, pfx, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count == n {
			return resp.Header.Revision
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d keys under %q, want %d", resp.Count, pfx, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
