package clientv3_test

import (
	"errors"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// The watch and lease protocols have evolved across server releases
// (progress requests, cancel reasons, fragmenting). The essentials must
// work on every release we support; the other tests run on 3.7 only.
// The clusters here also send periodic progress notifications, which the
// default 10-minute interval keeps out of reach elsewhere.
func TestWatchAndLeaseEssentialsOnEveryServerVersion(t *testing.T) {
	for _, v := range etcdtest.Versions {
		t.Run(string(v), func(t *testing.T) {
			flag := "--watch-progress-notify-interval=200ms"
			if v == etcdtest.V3_5 {
				flag = "--experimental-watch-progress-notify-interval=200ms"
			}
			clus := etcdtest.NewCluster(t, etcdtest.WithVersion(v), etcdtest.WithFlags(flag))
			c := newClientAt(t, clus.Endpoints())
			ctx := ctxT(t)
			k := "essentials/"

			// Events with previous values, from history, in order.
			first := put(t, c, k+"a", "1")
			put(t, c, k+"a", "2")
			del(t, c, k+"a")
			evs := nextEvents(t, c.Watch(ctx, k, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(first)), 3)
			if evs[1].PrevKv == nil || string(evs[1].PrevKv.Value) != "1" || evs[2].Type != clientv3.EventTypeDelete {
				t.Fatalf("replayed events %v; want put 1, put 2 (prev 1), delete", evs)
			}

			// Periodic progress notifications on an idle watch, and one
			// on request.
			idle := c.Watch(ctx, k+"idle", clientv3.WithProgressNotify())
			if wr := next(t, idle); !wr.IsProgressNotify() {
				t.Fatalf("idle watch got %+v; want a periodic progress notification", wr)
			}
			plain := c.Watch(ctx, k+"plain")
			if err := c.RequestProgress(ctx); err != nil {
				t.Fatal(err)
			}
			if wr := next(t, plain); !wr.IsProgressNotify() {
				t.Fatalf("after RequestProgress got %+v; want a progress notification", wr)
			}

			// Compacted history ends the watch with ErrCompacted.
			last := put(t, c, k+"b", "x")
			compact(t, c, last)
			wch := c.Watch(ctx, k, clientv3.WithPrefix(), clientv3.WithRev(first))
			if wr := next(t, wch); !errors.Is(wr.Err(), rpctypes.ErrCompacted) || wr.CompactRevision == 0 {
				t.Fatalf("watch of compacted history got %+v; want ErrCompacted", wr)
			}
			expectClosed(t, wch)

			// Leases: grant, keep alive, renew once, revoke.
			id := grant(t, c, 3)
			put(t, c, k+"leased", "v", clientv3.WithLease(id))
			ka, err := c.KeepAlive(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if r := nextKeepAlive(t, ka); r.ID != id || r.TTL != 3 {
				t.Fatalf("renewal %+v; want ID %d, TTL 3", r, id)
			}
			if r, err := c.KeepAliveOnce(ctx, id); err != nil || r.TTL != 3 {
				t.Fatalf("KeepAliveOnce = %+v, %v; want TTL 3", r, err)
			}
			ttl, err := c.TimeToLive(ctx, id, clientv3.WithAttachedKeys())
			if err != nil || len(ttl.Keys) != 1 {
				t.Fatalf("TimeToLive = %+v, %v; want the attached key", ttl, err)
			}
			if _, err := c.Revoke(ctx, id); err != nil {
				t.Fatal(err)
			}
			expectKeepAliveClosed(t, ka)
		})
	}
}
