package clientv3_test

import (
	"context"
	"fmt"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// countedWatcher returns a Watcher over c's connection whose streams the
// returned countingWatchClient counts, closed when the test ends.
func countedWatcher(t *testing.T, c *clientv3.Client) (*countingWatchClient, clientv3.Watcher) {
	wc := &countingWatchClient{WatchClient: pb.NewWatchClient(c.ActiveConnection())}
	w := clientv3.NewWatchFromWatchClient(wc, c)
	t.Cleanup(func() { w.Close() })
	return wc, w
}

// putKeys writes prefix000 ... under prefix and returns their revisions.
func putKeys(t *testing.T, c *clientv3.Client, prefix string, from, n int) []int64 {
	var revs []int64
	for i := from; i < from+n; i++ {
		revs = append(revs, put(t, c, fmt.Sprintf("%s%03d", prefix, i), "v"))
	}
	return revs
}

func TestWatchesOfOneRangeShareOneServerWatchAndEachGetsEveryEvent(t *testing.T) {
	c := newClient(t)
	wc, w := countedWatcher(t, c)
	prefix := keyPrefix(t) + "/"
	ctx := ctxT(t)
	const watchers, n = 10, 20
	var wchs []clientv3.WatchChan
	for range watchers {
		wchs = append(wchs, w.Watch(ctx, prefix, clientv3.WithPrefix()))
	}
	revs := putKeys(t, c, prefix, 0, n)
	for i, wch := range wchs {
		checkRevisions(t, fmt.Sprintf("watcher %d", i), nextEvents(t, wch, n), revs)
	}
	// Alone, each watcher's server watch would send every event: 200.
	// Shared, one does (a watch's own server watch, canceled as it joins,
	// may still send one or two before the cancel reaches the member).
	if got := wc.events.Load(); got >= 2*n {
		t.Fatalf("the member sent %d events for %d watchers of %d writes; want fewer than %d (one server watch)", got, watchers, n, 2*n)
	}
}

func TestAWatchJoiningASharedRangeStartsWhereItsOwnWouldHave(t *testing.T) {
	c := pinnedClient(t)
	wc, w := countedWatcher(t, c)
	prefix := keyPrefix(t) + "/"
	ctx := ctxT(t)
	first := w.Watch(ctx, prefix, clientv3.WithPrefix())
	early := putKeys(t, c, prefix, 0, 5)
	checkRevisions(t, "first watcher", nextEvents(t, first, 5), early)

	// From now: nothing written before; from a past revision: the history
	// from there, then what follows, once each.
	now := w.Watch(ctx, prefix, clientv3.WithPrefix())
	past := w.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(early[2]))
	late := putKeys(t, c, prefix, 5, 5)
	checkRevisions(t, "first watcher", nextEvents(t, first, 5), late)
	checkRevisions(t, "watcher from now", nextEvents(t, now, 5), late)
	checkRevisions(t, "watcher from a past revision", nextEvents(t, past, 8), append(early[2:], late...))

	// Once caught up, the watcher from the past rides too: a write is sent once.
	before := wc.events.Load()
	rev := put(t, c, prefix+"last", "v")
	for i, wch := range []clientv3.WatchChan{first, now, past} {
		checkRevisions(t, fmt.Sprintf("watcher %d", i), nextEvents(t, wch, 1), []int64{rev})
	}
	if got := wc.events.Load() - before; got != 1 {
		t.Fatalf("the member sent %d events for one write to three caught-up watchers; want 1", got)
	}
}

func TestWatchesSharingARangeGetTheirOwnCopiesOfEachEvent(t *testing.T) {
	c := newClient(t)
	k := keyPrefix(t)
	ctx := ctxT(t)
	put(t, c, k, "old")
	a := c.Watch(ctx, k, clientv3.WithPrevKV())
	b := c.Watch(ctx, k, clientv3.WithPrevKV())
	rev := put(t, c, k, "new")
	ra, rb := next(t, a), next(t, b)
	if ra.Header == rb.Header || ra.Events[0] == rb.Events[0] {
		t.Fatal("two watchers got the same header or event object; want one each")
	}
	// Change everything a reader could in a's response.
	evA := ra.Events[0]
	evA.Kv.Value[0] = 'X'
	evA.Kv.Key = evA.Kv.Key[1:]
	evA.PrevKv.Value[0] = 'X'
	ra.Header.Revision = 0
	evB := rb.Events[0]
	if string(evB.Kv.Key) != k || string(evB.Kv.Value) != "new" || string(evB.PrevKv.Value) != "old" || rb.Header.Revision < rev {
		t.Fatalf("after a's response was changed b has %q=%q (previously %q), header revision %d; want %q=%q (previously %q), at least %d",
			evB.Kv.Key, evB.Kv.Value, evB.PrevKv.Value, rb.Header.Revision, k, "new", "old", rev)
	}
}

func TestASharedServerWatchOutlivesTheWatchesThatLeaveIt(t *testing.T) {
	c := newClient(t)
	k := keyPrefix(t)
	var cancels []context.CancelFunc
	var wchs []clientv3.WatchChan
	for range 3 {
		ctx, cancel := context.WithCancel(ctxT(t))
		cancels = append(cancels, cancel)
		wchs = append(wchs, c.Watch(ctx, k))
	}
	// The first watch made the server watch the others ride; then the
	// second leaves too, and the last still gets every write.
	for i := range 2 {
		cancels[i]()
		expectClosedAfterAny(t, wchs[i])
		rev := put(t, c, k, fmt.Sprint(i))
		for _, wch := range wchs[i+1:] {
			checkRevisions(t, fmt.Sprintf("watcher left after %d ended", i+1), nextEvents(t, wch, 1), []int64{rev})
		}
	}
	cancels[2]()
	expectClosedAfterAny(t, wchs[2])
}

func TestACompactedWatchDoesNotEndTheWatchesThatShareItsRange(t *testing.T) {
	c := pinnedClient(t)
	k := keyPrefix(t)
	first := put(t, c, k, "1")
	compact(t, c, put(t, c, k, "2"))
	ctx := ctxT(t)

	// old's server watch exists (from a compacted revision) until the
	// member ends it; fresh, made meanwhile, may ride it.
	old := c.Watch(ctx, k, clientv3.WithRev(first))
	fresh := c.Watch(ctx, k)
	wr := next(t, old)
	if err := wr.Err(); err != rpctypes.ErrCompacted {
		t.Fatalf("the watch from a compacted revision got %+v (Err %v); want ErrCompacted", wr, err)
	}
	rev := put(t, c, k, "3")
	checkRevisions(t, "the watch from now", nextEvents(t, fresh, 1), []int64{rev})
}

// A watch from a revision the store has not reached makes the member answer
// no RequestProgress on its stream (etcd's rule, which the official client's
// watches live with). Riding another's server watch would cancel its own and
// let the member answer: such a watch keeps its own until the store reaches
// its start, so the answers are the official client's.
func TestAWatchFromAFutureRevisionKeepsTheMemberFromAnsweringProgressUntilItsStart(t *testing.T) {
	c := pinnedClient(t)
	k := keyPrefix(t)
	cur := put(t, c, k, "0")
	ctx := ctxT(t)
	now := c.Watch(ctx, k)
	future := c.Watch(ctx, k, clientv3.WithRev(cur+3))
	if err := c.RequestProgress(ctx); err != nil {
		t.Fatalf("RequestProgress: %v", err)
	}
	revs := putKeysTo(t, c, k, 3)
	for i, wr := range responsesFor(t, now, 3) {
		if len(wr.Events) == 0 {
			t.Fatalf("response %d of the watch from now is a progress notification at %d before the store reached %d; want the member to answer none while a watch waits for a later revision",
				i, wr.Header.Revision, cur+3)
		}
	}
	checkRevisions(t, "the watch from a future revision", nextEvents(t, future, 1), revs[2:])

	// The store has reached its start: the member answers again, both hear it.
	if err := c.RequestProgress(ctx); err != nil {
		t.Fatalf("RequestProgress: %v", err)
	}
	for name, wch := range map[string]clientv3.WatchChan{"from now": now, "from a future revision": future} {
		if wr := next(t, wch); !wr.IsProgressNotify() || wr.Header.Revision != revs[2] {
			t.Fatalf("the watch %s got %+v after the second RequestProgress; want a progress notification at %d", name, wr, revs[2])
		}
	}
}

// putKeysTo writes key n times and returns the revisions.
func putKeysTo(t *testing.T, c *clientv3.Client, key string, n int) []int64 {
	var revs []int64
	for i := range n {
		revs = append(revs, put(t, c, key, fmt.Sprint(i+1)))
	}
	return revs
}

// responsesFor returns wch's responses up to the one that brings its n-th
// event.
func responsesFor(t *testing.T, wch clientv3.WatchChan, n int) []clientv3.WatchResponse {
	t.Helper()
	var got []clientv3.WatchResponse
	for events := 0; events < n; {
		wr := next(t, wch)
		if err := wr.Err(); err != nil {
			t.Fatalf("watch response error after %d events: %v", events, err)
		}
		got = append(got, wr)
		events += len(wr.Events)
	}
	return got
}
