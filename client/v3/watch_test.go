package clientv3_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

func TestWatchDeliversPutsAndDeletesInOrder(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	wch := c.Watch(ctxT(t), key)

	r1 := put(t, c, key, "v1")
	r2 := put(t, c, key, "v2")
	r3 := del(t, c, key)

	evs := nextEvents(t, wch, 3)
	want := []struct {
		typ mvccpb.Event_EventType
		val string
		rev int64
	}{{clientv3.EventTypePut, "v1", r1}, {clientv3.EventTypePut, "v2", r2}, {clientv3.EventTypeDelete, "", r3}}
	for i, w := range want {
		ev := evs[i]
		if ev.Type != w.typ || string(ev.Kv.Key) != key || string(ev.Kv.Value) != w.val || ev.Kv.ModRevision != w.rev {
			t.Errorf("event %d = %v %q=%q at %d; want %v %q=%q at %d",
				i, ev.Type, ev.Kv.Key, ev.Kv.Value, ev.Kv.ModRevision, w.typ, key, w.val, w.rev)
		}
	}
}

func TestWatchSeesAWriteMadeAfterWatchReturns(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	before := put(t, c, key, "before")
	// Watch returns once the server has the watch, so a write made after
	// it returns is seen. (One made just before may be seen too: the
	// watch's member may not have applied it yet when the watch starts.)
	wch := c.Watch(ctxT(t), key)
	rev := put(t, c, key, "after")
	ev := nextEvents(t, wch, 1)[0]
	if ev.Kv.ModRevision == before {
		ev = nextEvents(t, wch, 1)[0]
	}
	if string(ev.Kv.Value) != "after" || ev.Kv.ModRevision != rev {
		t.Fatalf("event %q at %d; want %q at %d", ev.Kv.Value, ev.Kv.ModRevision, "after", rev)
	}
}

func TestWatchWithPrefixSeesOnlyKeysUnderThePrefix(t *testing.T) {
	c := newClient(t)
	prefix := keyPrefix(t) + "/p/"
	wch := c.Watch(ctxT(t), prefix, clientv3.WithPrefix())
	put(t, c, prefix+"a", "1")
	put(t, c, keyPrefix(t)+"/q", "2")
	put(t, c, prefix+"b", "3")
	evs := nextEvents(t, wch, 2)
	if got := eventKeys(evs); got != prefix+"a,"+prefix+"b" {
		t.Fatalf("keys %s; want %sa,%sb", got, prefix, prefix)
	}
}

func TestWatchWithRangeCoversTheHalfOpenInterval(t *testing.T) {
	c := newClient(t)
	k := keyPrefix(t) + "/"
	wch := c.Watch(ctxT(t), k+"b", clientv3.WithRange(k+"d"))
	for _, s := range []string{"a", "b", "c", "d", "e", "bb"} {
		put(t, c, k+s, s)
	}
	evs := nextEvents(t, wch, 3)
	if got, want := eventKeys(evs), k+"b,"+k+"c,"+k+"bb"; got != want {
		t.Fatalf("keys %s; want %s", got, want)
	}
}

func TestWatchWithFromKeySeesEveryKeyFromTheKeyOn(t *testing.T) {
	c := newClient(t)
	k := keyPrefix(t) + "/"
	wch := c.Watch(ctxT(t), k+"b", clientv3.WithFromKey())
	for _, s := range []string{"a", "b", "z"} {
		put(t, c, k+s, s)
	}
	// Other tests' keys sort after ours too; keep only ours.
	var mine []*clientv3.Event
	for len(mine) < 2 {
		for _, ev := range next(t, wch).Events {
			if strings.HasPrefix(string(ev.Kv.Key), k) {
				mine = append(mine, ev)
			}
		}
	}
	if got, want := eventKeys(mine), k+"b,"+k+"z"; got != want {
		t.Fatalf("keys %s; want %s", got, want)
	}
}

func TestWatchWithRevReplaysHistory(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	first := put(t, c, key, "1")
	put(t, c, key, "2")
	put(t, c, key, "3")
	evs := nextEvents(t, c.Watch(ctxT(t), key, clientv3.WithRev(first)), 3)
	for i, ev := range evs {
		if want := fmt.Sprint(i + 1); string(ev.Kv.Value) != want || ev.Kv.ModRevision != first+int64(i) {
			t.Errorf("event %d: %q at %d; want %q at %d", i, ev.Kv.Value, ev.Kv.ModRevision, want, first+int64(i))
		}
	}
}

func TestWatchWithPrevKVCarriesThePreviousValue(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	old := put(t, c, key, "old")
	wch := c.Watch(ctxT(t), key, clientv3.WithPrevKV(), clientv3.WithRev(old+1))
	put(t, c, key, "new")
	ev := nextEvents(t, wch, 1)[0]
	if ev.PrevKv == nil || string(ev.PrevKv.Value) != "old" {
		t.Fatalf("PrevKv = %v; want value %q", ev.PrevKv, "old")
	}
}

func TestWatchFiltersDropTheFilteredEventType(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	ctx := ctxT(t)
	noPut := c.Watch(ctx, key, clientv3.WithFilterPut())
	noDelete := c.Watch(ctx, key, clientv3.WithFilterDelete())
	put(t, c, key, "v")
	del(t, c, key)
	if ev := nextEvents(t, noPut, 1)[0]; ev.Type != clientv3.EventTypeDelete {
		t.Errorf("clientv3.WithFilterPut delivered %v; want only DELETE", ev.Type)
	}
	if ev := nextEvents(t, noDelete, 1)[0]; ev.Type != clientv3.EventTypePut {
		t.Errorf("clientv3.WithFilterDelete delivered %v; want only PUT", ev.Type)
	}
}

func TestWatchWithCreatedNotifyDeliversCreatedFirst(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	wch := c.Watch(ctxT(t), key, clientv3.WithCreatedNotify())
	wr := next(t, wch)
	if !wr.Created || len(wr.Events) > 0 || wr.Err() != nil || wr.IsProgressNotify() {
		t.Fatalf("first response %+v; want Created with no events and no error", wr)
	}
	if wr.Header == nil || wr.Header.Revision == 0 {
		t.Fatalf("created header %v; want the revision the watch starts after", wr.Header)
	}
	// The watch starts right after the created revision.
	rev := put(t, c, key, "v")
	if ev := nextEvents(t, wch, 1)[0]; ev.Kv.ModRevision != rev {
		t.Fatalf("event at %d; want the put at %d", ev.Kv.ModRevision, rev)
	}
}

func TestRequestProgressNotifiesEveryWatchOfTheContextsStream(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	ctx := ctxT(t)
	w1 := c.Watch(ctx, key+"/1")
	w2 := c.Watch(ctx, key+"/2")
	other := c.Watch(clientv3.WithRequireLeader(ctx), key+"/3")
	rev := put(t, c, key+"/unwatched", "v")

	// The member serving the watches may apply the write a moment after
	// the one that served it: ask until the notifications reach it.
	for reached := false; !reached; {
		if err := c.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		reached = true
		for i, wch := range []clientv3.WatchChan{w1, w2} {
			wr := next(t, wch)
			if !wr.IsProgressNotify() {
				t.Fatalf("watch %d got %+v; want a progress notification", i+1, wr)
			}
			reached = reached && wr.Header.Revision >= rev
		}
	}
	// The watch with different metadata is on another stream: the first
	// thing it sees is its own event, not a progress notification.
	put(t, c, key+"/3", "v")
	if wr := next(t, other); wr.IsProgressNotify() || len(wr.Events) != 1 {
		t.Fatalf("watch on another stream got %+v; want its event", wr)
	}
}

func TestRequestProgressWithoutAStreamDoesNothing(t *testing.T) {
	c := newClient(t)
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "no-stream", "here")
	if err := c.RequestProgress(ctx); err != nil {
		t.Fatalf("RequestProgress = %v; want nil", err)
	}
}

func TestWatchesShareOneStreamPerOutgoingMetadata(t *testing.T) {
	c := newClient(t)
	wc := &countingWatchClient{WatchClient: pb.NewWatchClient(c.ActiveConnection())}
	w := clientv3.NewWatchFromWatchClient(wc, c)
	defer w.Close()
	ctx := ctxT(t)
	key := keyPrefix(t)

	w.Watch(ctx, key+"/a")
	w.Watch(ctx, key+"/b")
	// Metadata added in another order is the same metadata.
	ab := metadata.AppendToOutgoingContext(metadata.AppendToOutgoingContext(ctx, "a", "1"), "b", "2")
	ba := metadata.AppendToOutgoingContext(metadata.AppendToOutgoingContext(ctx, "b", "2"), "a", "1")
	w.Watch(ab, key+"/c")
	w.Watch(ba, key+"/d")
	w.Watch(clientv3.WithRequireLeader(ctx), key+"/e")
	if got := wc.streams.Load(); got != 3 {
		t.Fatalf("opened %d streams; want 3 (plain, a+b, require-leader)", got)
	}
}

func TestWatchCompactedStartEndsWithErrCompacted(t *testing.T) {
	c := pinnedClient(t)
	key := keyPrefix(t)
	first := put(t, c, key, "1")
	last := put(t, c, key, "2")
	compact(t, c, last)

	wch := c.Watch(ctxT(t), key, clientv3.WithRev(first))
	wr := next(t, wch)
	if wr.CompactRevision == 0 || !wr.Canceled {
		t.Fatalf("got %+v; want a canceled response with CompactRevision set", wr)
	}
	if err := wr.Err(); err != rpctypes.ErrCompacted || !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("Err() = %v; want rpctypes.ErrCompacted", err)
	}
	expectClosed(t, wch)
}

func TestWatchCancelingTheContextClosesTheChannel(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	wch := c.Watch(ctx, keyPrefix(t))
	cancel()
	expectClosed(t, wch)

	// The stream goes on serving other watches.
	other := c.Watch(ctxT(t), keyPrefix(t))
	put(t, c, keyPrefix(t), "v")
	nextEvents(t, other, 1)
}

func TestWatchWithDoneContextReturnsClosedChannel(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	expectClosed(t, c.Watch(ctx, keyPrefix(t)))
}

func TestWatcherCloseClosesEveryChannel(t *testing.T) {
	c := newClient(t)
	w := clientv3.NewWatcher(c)
	ctx := ctxT(t)
	a := w.Watch(ctx, keyPrefix(t)+"/a")
	b := w.Watch(metadata.AppendToOutgoingContext(ctx, "k", "v"), keyPrefix(t)+"/b")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, a)
	expectClosed(t, b)
	expectClosed(t, w.Watch(ctx, keyPrefix(t)+"/c"))
}

func TestWatchWithOptionsThatDoNotApplyReportsAnError(t *testing.T) {
	c := newClient(t)
	wch := c.Watch(ctxT(t), keyPrefix(t), clientv3.WithLimit(3))
	wr := next(t, wch)
	if !wr.Canceled || wr.Err() == nil {
		t.Fatalf("got %+v; want a canceled response with an error", wr)
	}
	expectClosed(t, wch)
}

func TestWatchReassemblesFragmentedResponses(t *testing.T) {
	c := pinnedClient(t)
	key := keyPrefix(t)
	// Three values that together exceed the server's 1.5 MiB request
	// limit arrive in one catch-up response, which the server splits.
	val := strings.Repeat("x", 700*1024)
	first := put(t, c, key+"/1", val)
	put(t, c, key+"/2", val)
	put(t, c, key+"/3", val)

	// An adapter and no Client: the watcher needs no connection of its own.
	wc := &countingWatchClient{WatchClient: pb.NewWatchClient(c.ActiveConnection())}
	w := clientv3.NewWatchFromWatchClient(wc, nil)
	defer w.Close()
	wr := next(t, w.Watch(ctxT(t), key, clientv3.WithPrefix(), clientv3.WithRev(first), clientv3.WithFragment()))
	if len(wr.Events) != 3 {
		t.Fatalf("first response has %d events; want all 3 in one response", len(wr.Events))
	}
	for i, ev := range wr.Events {
		if ev.Kv.ModRevision != first+int64(i) || len(ev.Kv.Value) != len(val) {
			t.Errorf("event %d at %d with %d bytes; want revision %d with %d bytes", i, ev.Kv.ModRevision, len(ev.Kv.Value), first+int64(i), len(val))
		}
	}
	if wc.fragments.Load() == 0 {
		t.Fatal("the server sent no fragments; the test proves nothing")
	}
}

func TestAWatchGetsEveryProgressNotificationItAskedFor(t *testing.T) {
	c := newClient(t)
	ctx := ctxT(t)
	wch := c.Watch(ctx, keyPrefix(t))
	const asked = 3
	for range asked {
		if err := c.RequestProgress(ctx); err != nil {
			t.Fatalf("RequestProgress: %v", err)
		}
	}
	// Read only now: the answers wait for the reader, each of its own.
	for i := range asked {
		if wr := next(t, wch); !wr.IsProgressNotify() {
			t.Fatalf("response %d after %d progress requests is %+v; want a progress notification", i, asked, wr)
		}
	}
}

func TestAWatchTakesTheOptionsTheOfficialClientTakes(t *testing.T) {
	c := newClient(t)
	p := keyPrefix(t)
	ctx := ctxT(t)
	// WithKeysOnly is ignored by a watch; of WithPrefix and WithFromKey
	// the later sets the range.
	keysOnly := c.Watch(ctx, p+"/a", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	fromKey := c.Watch(ctx, p+"/a", clientv3.WithPrefix(), clientv3.WithFromKey())
	put(t, c, p+"/a1", "v")
	if ev := nextEvents(t, keysOnly, 1)[0]; string(ev.Kv.Key) != p+"/a1" || string(ev.Kv.Value) != "v" {
		t.Fatalf("the prefix watch with WithKeysOnly got %q=%q; want %q=%q", ev.Kv.Key, ev.Kv.Value, p+"/a1", "v")
	}
	rev := put(t, c, p+"/b", "v")
	for {
		ev := nextEvents(t, fromKey, 1)[0]
		if ev.Kv.ModRevision == rev {
			break // a key past the prefix: the range is from the key on
		}
	}
}

func TestPutAndDeleteIgnoreWithKeysOnlyAsTheOfficialClientDoes(t *testing.T) {
	c := newClient(t)
	ctx := ctxT(t)
	k := keyPrefix(t)
	if _, err := c.Put(ctx, k, "v", clientv3.WithKeysOnly()); err != nil {
		t.Fatalf("Put with WithKeysOnly: %v; want it ignored", err)
	}
	if resp, err := c.Delete(ctx, k, clientv3.WithKeysOnly()); err != nil || resp.Deleted != 1 {
		t.Fatalf("Delete with WithKeysOnly = %+v, %v; want one key deleted", resp, err)
	}
}

func TestWatchAndRequestProgressGiveAnErrorForANilContextAndAClosedWatcher(t *testing.T) {
	c := newClient(t)
	//lint:ignore SA1012 a nil context is the misuse under test
	wr := next(t, c.Watch(nil, "k")) //nolint:staticcheck
	if !wr.Canceled || wr.Err() == nil || wr.Header == nil {
		t.Fatalf("Watch with a nil context gave %+v (Err %v); want one Canceled response with an error and a header", wr, wr.Err())
	}
	//lint:ignore SA1012 as above
	if err := c.RequestProgress(nil); err == nil { //nolint:staticcheck
		t.Error("RequestProgress with a nil context returned no error")
	}
	w := clientv3.NewWatcher(c)
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := w.RequestProgress(ctxT(t)); err == nil || err.Error() != "no stream found for context" {
		t.Errorf("RequestProgress on a closed watcher returned %v; want the official client's %q", err, "no stream found for context")
	}
}

// The channel has no buffer (the official client's holds one response):
// responses wait in the watch's own queue instead, each as the server sent
// it, so a reader that comes late still gets one response per write.
func TestAWatchChannelHasNoBufferYetALateReaderGetsEveryResponseAsSent(t *testing.T) {
	c := newClient(t)
	k := keyPrefix(t)
	wch := c.Watch(ctxT(t), k)
	if cap(wch) != 0 {
		t.Fatalf("the watch channel has room for %d responses; want none (responses wait in the watch's queue)", cap(wch))
	}
	var revs []int64
	for i := range 3 {
		revs = append(revs, put(t, c, k, fmt.Sprint(i)))
	}
	for i, rev := range revs {
		wr := next(t, wch)
		if len(wr.Events) != 1 || wr.Events[0].Kv.ModRevision != rev {
			t.Fatalf("response %d read after the three writes holds %d events (%v); want the one of revision %d, as the server sent it", i, len(wr.Events), wr.Events, rev)
		}
	}
}

func TestWatchSlowReaderNeitherBlocksOthersNorLosesEvents(t *testing.T) {
	defer clientv3.SetWatchQueueLimit(4)()

	c := newClient(t)
	wc := &countingWatchClient{WatchClient: pb.NewWatchClient(c.ActiveConnection())}
	w := clientv3.NewWatchFromWatchClient(wc, c)
	defer w.Close()
	prefix := keyPrefix(t) + "/"
	ctx := ctxT(t)
	slow := w.Watch(ctx, prefix, clientv3.WithPrefix())
	fast := w.Watch(ctx, prefix, clientv3.WithPrefix())
	const n = 40
	var revs []int64
	for i := range n {
		revs = append(revs, put(t, c, fmt.Sprintf("%s%02d", prefix, i), "v"))
	}
	// The fast reader gets everything while the slow one reads nothing.
	checkRevisions(t, "fast reader", nextEvents(t, fast, n), revs)
	// The slow reader then gets everything too, once each, in order.
	checkRevisions(t, "slow reader", nextEvents(t, slow, n), revs)
	if wc.creates.Load() <= 2 {
		t.Fatal("the slow watch was never paused and resumed; the test proves nothing")
	}
}

func TestWatchResponseErrAndIsProgressNotify(t *testing.T) {
	hdr := &pb.ResponseHeader{Revision: 7}
	other := errors.New("stream failed")
	for _, tc := range []struct {
		name     string
		wr       clientv3.WatchResponse
		err      error
		progress bool
	}{
		{"events", clientv3.WatchResponse{Header: hdr, Events: []*clientv3.Event{{}}}, nil, false},
		{"progress", clientv3.WatchResponse{Header: hdr}, nil, true},
		{"no header", clientv3.WatchResponse{}, nil, false},
		{"created", clientv3.WatchResponse{Header: hdr, Created: true}, nil, false},
		{"compacted", clientv3.WatchResponse{Header: hdr, CompactRevision: 3, Canceled: true}, rpctypes.ErrCompacted, false},
		{"canceled with a bare reason", clientv3.WatchResponse{Header: hdr, Canceled: true, CancelReason: rpctypes.ErrCompacted.Error()}, rpctypes.ErrCompacted, false},
		{"canceled with a status reason", clientv3.WatchResponse{Header: hdr, Canceled: true, CancelReason: rpctypes.ErrGRPCPermissionDenied.Error()}, rpctypes.ErrPermissionDenied, false},
		{"canceled without reason", clientv3.WatchResponse{Header: hdr, Canceled: true}, rpctypes.ErrFutureRev, false},
		{"stream error", clientv3.StreamFailedResponse(other), other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.wr.Err(); err != tc.err || !errors.Is(err, tc.err) {
				t.Errorf("Err() = %v; want %v", err, tc.err)
			}
			if got := tc.wr.IsProgressNotify(); got != tc.progress {
				t.Errorf("IsProgressNotify() = %v; want %v", got, tc.progress)
			}
		})
	}
}

func TestWatchResponseErrKeepsAnUnknownCancelReason(t *testing.T) {
	wr := clientv3.WatchResponse{Canceled: true, CancelReason: "something new"}
	if err := wr.Err(); err == nil || !strings.Contains(err.Error(), "something new") {
		t.Fatalf("Err() = %v; want an error carrying the reason", err)
	}
}

func TestStreamKeyIgnoresMetadataOrderButNotContent(t *testing.T) {
	a := clientv3.StreamKey(metadata.Pairs("x", "1", "y", "2"))
	b := clientv3.StreamKey(metadata.Pairs("y", "2", "x", "1"))
	if a != b {
		t.Errorf("keys differ for the same metadata: %q, %q", a, b)
	}
	for _, md := range []metadata.MD{nil, metadata.Pairs("x", "12"), metadata.Pairs("x", "1", "x", "2"), metadata.Pairs("x", "1,y")} {
		if clientv3.StreamKey(md) == a {
			t.Errorf("metadata %v has the key of %v", md, metadata.Pairs("x", "1", "y", "2"))
		}
	}
}

func eventKeys(evs []*clientv3.Event) string {
	var ks []string
	for _, ev := range evs {
		ks = append(ks, string(ev.Kv.Key))
	}
	return strings.Join(ks, ",")
}

// checkRevisions fails t unless evs are exactly the writes at revs, in
// order.
func checkRevisions(t testing.TB, who string, evs []*clientv3.Event, revs []int64) {
	t.Helper()
	if len(evs) != len(revs) {
		t.Fatalf("%s: %d events; want %d", who, len(evs), len(revs))
	}
	for i, ev := range evs {
		if ev.Kv.ModRevision != revs[i] {
			t.Fatalf("%s: event %d at revision %d; want %d (lost or repeated events)", who, i, ev.Kv.ModRevision, revs[i])
		}
	}
}

func TestWatcherCloseReturnsWhileAnEndedWatchsLastResponseIsUnread(t *testing.T) {
	// A watch that ended on its own (here: its start was compacted) holds
	// its last response until the reader takes it. Close must not wait
	// for a reader that never comes: it closes the channel, as it closes
	// those of the watches still running.
	c := pinnedClient(t)
	w := clientv3.NewWatcher(c)
	key := keyPrefix(t)
	first := put(t, c, key, "1")
	last := put(t, c, key, "2")
	compact(t, c, last)

	ctx := context.Background() // never ends: only Close can end the watch
	wch := w.Watch(ctx, key, clientv3.WithRev(first))
	running := w.Watch(ctx, key+"/other")
	// Let the server's refusal arrive and be queued for the reader.
	time.Sleep(200 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Close still waits for the reader of an ended watch")
	}
	expectClosed(t, wch)
	expectClosed(t, running)
}

func TestClientCloseEndsTheGoroutinesOfWatchersAndLeasesMadeOnItAndNeverClosed(t *testing.T) {
	// Watchers and Leases made on a client (NewWatcher, NewLease, and the
	// From...Client constructors given the client) run on it: when Close
	// returns, their goroutines have ended too, although the program never
	// closed them and their callers' contexts never end. Streams that take
	// a while to wind down make any goroutine Close does not wait for
	// still visible when it returns.
	before := ourGoroutines()
	c := newClient(t)
	ctx := context.Background()
	w := clientv3.NewWatchFromWatchClient(&slowEndWatchClient{pb.NewWatchClient(c.ActiveConnection())}, c)
	wch := w.Watch(ctx, keyPrefix(t))
	l := clientv3.NewLeaseFromLeaseClient(&slowEndLeaseClient{pb.NewLeaseClient(c.ActiveConnection())}, c, 0)
	id := grant(t, l, 10)
	kch, err := l.KeepAlive(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	nextKeepAlive(t, kch)
	put(t, c, keyPrefix(t), "v")
	nextEvents(t, wch, 1)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if left := leftSince(before); len(left) > 0 {
		t.Fatalf("%d goroutine(s) of the client still ran when Close returned:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
	expectClosed(t, wch)
	expectKeepAliveClosed(t, kch)
}

// slowEndDelay is how long the streams of slowEndWatchClient and
// slowEndLeaseClient take to report that they ended.
const slowEndDelay = 300 * time.Millisecond

// slowEndWatchClient is a pb.WatchClient adapter whose streams report
// their end only slowEndDelay after it.
type slowEndWatchClient struct{ pb.WatchClient }

func (c *slowEndWatchClient) Watch(ctx context.Context, opts ...grpc.CallOption) (pb.Watch_WatchClient, error) {
	s, err := c.WatchClient.Watch(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &slowEndWatchStream{s}, nil
}

type slowEndWatchStream struct{ pb.Watch_WatchClient }

func (s *slowEndWatchStream) Recv() (*pb.WatchResponse, error) {
	resp, err := s.Watch_WatchClient.Recv()
	if err != nil {
		time.Sleep(slowEndDelay)
	}
	return resp, err
}

// slowEndLeaseClient is the pb.LeaseClient counterpart of
// slowEndWatchClient.
type slowEndLeaseClient struct{ pb.LeaseClient }

func (c *slowEndLeaseClient) LeaseKeepAlive(ctx context.Context, opts ...grpc.CallOption) (pb.Lease_LeaseKeepAliveClient, error) {
	s, err := c.LeaseClient.LeaseKeepAlive(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &slowEndLeaseStream{s}, nil
}

type slowEndLeaseStream struct{ pb.Lease_LeaseKeepAliveClient }

func (s *slowEndLeaseStream) RecvMsg(m any) error {
	err := s.Lease_LeaseKeepAliveClient.RecvMsg(m)
	if err != nil {
		time.Sleep(slowEndDelay)
	}
	return err
}

// The server announces a new watch and answers a progress request on two
// queues, so a watch made just after RequestProgress may be announced before
// the answer. The answer does not speak for it: a watch from a past revision
// must get its events, not a progress notification past them.
func TestAProgressAnswerSkipsWatchesMadeAfterItsRequest(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	ctx := ctxT(t)
	first := put(t, c, key+"/k", "0")
	for i := 1; i < 300; i++ {
		put(t, c, key+"/k", fmt.Sprint(i))
	}
	c.Watch(ctx, key+"/synced") // a watch that has caught up, so the server answers
	for i := 0; i < 40; i++ {
		wctx, cancel := context.WithCancel(ctx)
		if err := c.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		wr := next(t, c.Watch(wctx, key+"/k", clientv3.WithRev(first)))
		cancel()
		if wr.IsProgressNotify() {
			t.Fatalf("try %d: a watch from revision %d got a progress notification at revision %d before its events", i, first, wr.Header.Revision)
		}
		if len(wr.Events) == 0 || wr.Events[0].Kv.ModRevision != first {
			t.Fatalf("try %d: a watch from revision %d got %+v first; want the event at %d", i, first, wr, first)
		}
	}
}

// A progress request the server leaves unanswered (etcd 3.7 drops one made
// while a watcher is catching up) must not keep the answers to later
// requests from watches made after it.
func TestAnUnansweredProgressRequestDoesNotStarveLaterWatches(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	ctx := ctxT(t)
	first := put(t, c, key+"/old", "0")
	const n = 2000
	for i := 1; i < n; i++ {
		put(t, c, key+"/old", fmt.Sprint(i))
	}
	for try := 0; try < 5; try++ {
		wctx, cancel := context.WithCancel(ctx)
		catchingUp := c.Watch(wctx, key+"/old", clientv3.WithRev(first))
		// Asked while that watch is behind: likely left unanswered.
		if err := c.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		for got := 0; got < n; {
			wr := next(t, catchingUp)
			got += len(wr.Events)
		}
		cancel()
	}
	later := c.Watch(ctx, key+"/new")
	for i := 0; ; i++ {
		if err := c.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case wr := <-later:
			if !wr.IsProgressNotify() {
				t.Fatalf("the later watch got %+v; want a progress notification", wr)
			}
			return
		case <-time.After(time.Second):
		}
		if i == 4 {
			t.Fatal("a watch made after unanswered progress requests got no answer to five later ones")
		}
	}
}

func TestIdleWatchesHoldNoGoroutine(t *testing.T) {
	c := newClient(t)
	w := clientv3.NewWatcher(c)
	defer w.Close()
	prefix := keyPrefix(t) + "/"
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	before := runtime.NumGoroutine()
	const n = 500
	chans := make([]clientv3.WatchChan, n)
	for i := range chans {
		chans[i] = w.Watch(ctx, fmt.Sprintf("%s%03d", prefix, i))
	}
	if grown := runtime.NumGoroutine() - before; grown > 50 {
		t.Fatalf("%d idle watches added %d goroutines; want a few for the stream, not one per watch", n, grown)
	}
	// Each still gets its event, whether its reader waits for it or not.
	for i := range chans {
		put(t, c, fmt.Sprintf("%s%03d", prefix, i), "v")
	}
	for i, ch := range chans {
		if evs := nextEvents(t, ch, 1); string(evs[0].Kv.Key) != fmt.Sprintf("%s%03d", prefix, i) {
			t.Fatalf("watch %d got an event for %q", i, evs[0].Kv.Key)
		}
	}
	cancel()
	for _, ch := range chans {
		expectClosed(t, ch)
	}
}

// plainCtx is a context the context package does not know, so that
// context.AfterFunc has to wait for it in a goroutine of its own.
type plainCtx struct{ context.Context }

func TestWatchEndsWhenAContextOfAnUnknownTypeEnds(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	inner, cancel := context.WithCancel(ctxT(t))
	wch := c.Watch(plainCtx{inner}, key)
	put(t, c, key, "v1")
	put(t, c, key, "v2") // the reader is not there: queued for a deliverer
	time.Sleep(100 * time.Millisecond)
	cancel()
	// What was queued may or may not be delivered before the channel
	// closes, as with the official client; it must close.
	expectClosedAfterAny(t, wch)
}

func TestCancelingAContextClosesTheWatchesMadeWithItAndOnlyThose(t *testing.T) {
	c := newClient(t)
	key := keyPrefix(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	type ctxKey struct{}
	a := c.Watch(ctx, key)
	b := c.Watch(context.WithValue(ctx, ctxKey{}, 1), key) // the same Done channel
	other := c.Watch(ctxT(t), key)
	cancel()
	expectClosed(t, a)
	expectClosed(t, b)
	put(t, c, key, "v")
	nextEvents(t, other, 1)
	// A new watch with another context of the same stream is served too.
	again := c.Watch(ctxT(t), key)
	put(t, c, key, "w")
	nextEvents(t, again, 1)
}

// A watch paused because its reader fell behind is off the server when the
// caller asks for progress: the server answers without it, or, with no
// other watch on the stream, not at all. The official client would queue
// the answer behind the watch's events, so a caller that asks once and
// waits for a progress notification on a slow watch must get one once it
// has read its events, at a revision past every one of them; and a watch
// that got its answer gets nothing more from the stream's asking again.
func TestAWatchPausedForItsSlowReaderStillGetsTheProgressAnswerAfterItsEvents(t *testing.T) {
	defer clientv3.SetWatchQueueLimit(4)()
	for _, beside := range []bool{false, true} {
		name := "alone on its stream"
		if beside {
			name = "beside a watch that keeps up"
		}
		t.Run(name, func(t *testing.T) {
			c := pinnedClient(t)
			wc, w := countedWatcher(t, c)
			prefix := keyPrefix(t)
			ctx := ctxT(t)
			slow := w.Watch(ctx, prefix+"/slow")
			var fast clientv3.WatchChan
			if beside {
				fast = w.Watch(ctx, prefix+"/fast")
			}
			const n = 20
			var revs []int64
			for i := range n {
				revs = append(revs, put(t, c, prefix+"/slow", fmt.Sprint(i)))
			}
			if beside {
				// The fast watch's event comes after every one of the
				// slow watch's on the stream: once it is read, the slow
				// watch has paused.
				put(t, c, prefix+"/fast", "v")
				nextEvents(t, fast, 1)
			} else {
				// The fifth response finds the queue full; what follows
				// it, if anything, is what the server sent before the
				// pause reached it.
				for wc.events.Load() < 5 {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err := w.RequestProgress(ctx); err != nil {
				t.Fatal(err)
			}
			if beside {
				if wr := next(t, fast); !wr.IsProgressNotify() || wr.Header.Revision < revs[n-1] {
					t.Fatalf("the fast watch got %+v; want a progress notification at %d or later", wr, revs[n-1])
				}
			}

			checkRevisions(t, "slow reader", nextEvents(t, slow, n), revs)
			made := int64(1) // the watches made by the test
			if beside {
				made = 2
			}
			if wc.creates.Load() <= made {
				t.Fatal("the slow watch was never paused and resumed; the test proves nothing")
			}
			wr := next(t, slow)
			if !wr.IsProgressNotify() || wr.Header.Revision < revs[n-1] {
				t.Fatalf("after its events the slow watch got %+v; want a progress notification at %d or later", wr, revs[n-1])
			}
			if beside {
				rev := put(t, c, prefix+"/fast", "again")
				if wr := next(t, fast); len(wr.Events) != 1 || wr.Events[0].Kv.ModRevision != rev {
					t.Fatalf("the fast watch, answered once, then got %+v; want its event at %d and no second notification", wr, rev)
				}
			}
		})
	}
}

// The server drops a progress request while a watch of the stream is
// still catching up, as a watch from a past revision is just after its
// creation; with the official client the caller then waits for ever. The
// request is owed to every watch of the stream, and the one that was
// catching up gets its notification once it has caught up.
func TestAProgressRequestMadeWhileAWatchCatchesUpIsAnsweredOnceItHasCaughtUp(t *testing.T) {
	c := pinnedClient(t)
	key := keyPrefix(t)
	ctx := ctxT(t)
	var revs []int64
	for i := range 300 {
		revs = append(revs, put(t, c, key+"/k", fmt.Sprint(i)))
	}
	for try := range 3 {
		wctx, cancel := context.WithCancel(ctx)
		wch := c.Watch(wctx, key+"/k", clientv3.WithRev(revs[0]))
		if err := c.RequestProgress(wctx); err != nil {
			t.Fatal(err)
		}
		checkRevisions(t, fmt.Sprintf("try %d: the watch from a past revision", try), nextEvents(t, wch, len(revs)), revs)
		if wr := next(t, wch); !wr.IsProgressNotify() || wr.Header.Revision < revs[len(revs)-1] {
			t.Fatalf("try %d: after its events the watch got %+v; want a progress notification at %d or later", try, wr, revs[len(revs)-1])
		}
		cancel()
	}
}

// Each RequestProgress gives each watch one notification, and the one for
// a call made after a write is at that write's revision or later, however
// the answers to earlier calls interleave with it.
func TestEachProgressRequestIsAnsweredAtOrPastTheStoreItWasMadeOn(t *testing.T) {
	c := pinnedClient(t)
	key := keyPrefix(t)
	ctx := ctxT(t)
	wch := c.Watch(ctx, key+"/watched")
	for try := range 20 {
		if err := c.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		rev := put(t, c, key+"/other", fmt.Sprint(try))
		if err := c.RequestProgress(ctx); err != nil {
			t.Fatal(err)
		}
		first, second := next(t, wch), next(t, wch)
		if !first.IsProgressNotify() || !second.IsProgressNotify() || second.Header.Revision < rev {
			t.Fatalf("try %d: two requests around a write at %d gave %+v and %+v; want two progress notifications, the second at %d or later", try, rev, first, second, rev)
		}
	}
}
