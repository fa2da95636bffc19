package clientv3_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// A watch the server refuses ends with the server's reason: Canceled,
// CancelReason set, and Err() the matching rpctypes error. Other watches
// on the same stream are unaffected.
func TestWatchRefusedByTheServerEndsWithItsReason(t *testing.T) {
	clus := etcdtest.NewCluster(t)
	ctx := ctxT(t)
	root, alice := sharedcluster.RestrictedUser(t, clus.Endpoints(), "alice", "allowed/", clientv3.PermissionType(clientv3.PermRead))

	allowed := alice.Watch(ctx, "allowed/", clientv3.WithPrefix())
	refused := alice.Watch(ctx, "secret")
	wr := next(t, refused)
	if !wr.Canceled || wr.Created || !strings.Contains(wr.CancelReason, rpctypes.ErrorDesc(rpctypes.ErrGRPCPermissionDenied)) {
		t.Fatalf("refused watch got %+v; want Canceled, not Created (as the official client gives it), with reason %q", wr, rpctypes.ErrorDesc(rpctypes.ErrGRPCPermissionDenied))
	}
	if err := wr.Err(); err != rpctypes.ErrPermissionDenied || !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("Err() = %v; want rpctypes.ErrPermissionDenied", err)
	}
	expectClosed(t, refused)

	put(t, root, "allowed/x", "v")
	nextEvents(t, allowed, 1)
}

// A watch whose stream breaks after the client's auth token expired is
// re-opened with a fresh token, and resumes where it stopped: the event
// written after the break arrives, and the one before it does not come
// again.
func TestWatchResumesWithAFreshTokenAfterItsTokenExpired(t *testing.T) {
	c := startCluster(t, 1, etcdtest.WithFlags(authTokenTTL))
	enableAuth(t, newClientOf(t, c))
	watcher := newClientOf(t, c, withUser("root", "rootpw"))
	ctx := ctxT(t)
	k := "/" + t.Name()
	wch := watcher.Watch(ctx, k)

	if _, err := newClientOf(t, c, withUser("root", "rootpw")).Put(ctx, k, "before"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, wch); string(ev.Kv.Value) != "before" {
		t.Fatalf("first event: got value %q, want %q", ev.Kv.Value, "before")
	}

	time.Sleep(3 * time.Second) // idle past the TTL: the server forgets the watcher's token
	c.Members()[0].DropConnections()

	// A new client, with a token of its own, writes after the break, so
	// only the watch's own re-open can have renewed the watcher's token.
	if _, err := newClientOf(t, c, withUser("root", "rootpw")).Put(ctx, k, "after"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, wch); string(ev.Kv.Value) != "after" {
		t.Fatalf("event after the break: got value %q, want %q (no repeat of the earlier one)", ev.Kv.Value, "after")
	}
}

// nextEvent returns the next event of wch, failing the test on an error
// response, a closed channel, or ten seconds of silence.
func nextEvent(t *testing.T, wch clientv3.WatchChan) *clientv3.Event {
	t.Helper()
	for {
		select {
		case resp, ok := <-wch:
			if !ok {
				t.Fatal("watch channel closed")
			}
			if err := resp.Err(); err != nil {
				t.Fatalf("watch response error: %v", err)
			}
			if len(resp.Events) > 0 {
				return resp.Events[0]
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10 s")
		}
	}
}
