package client

import (
	"context"
	"errors"
	"net/http/httptrace"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestSetThenGetReturnsNodeIndexAndClusterID(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	set, err := k.Set(ctx, key(t, "a"), "bar", nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.Action != "set" || set.Node == nil || set.Node.Value != "bar" || set.Node.Key != key(t, "a") {
		t.Fatalf("Set returned %+v, want action set of %s=bar", set, key(t, "a"))
	}
	if set.Index == 0 || set.ClusterID == "" || set.Node.ModifiedIndex == 0 {
		t.Fatalf("Set returned Index %d, ClusterID %q, ModifiedIndex %d: want all set", set.Index, set.ClusterID, set.Node.ModifiedIndex)
	}
	got, err := k.Get(ctx, key(t, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Action != "get" || got.Node.Value != "bar" || got.Node.ModifiedIndex != set.Node.ModifiedIndex {
		t.Fatalf("Get returned %+v, want the node Set wrote", got)
	}
	if got.Index < set.Index || got.ClusterID != set.ClusterID {
		t.Fatalf("Get returned Index %d ClusterID %q, want >= %d and %q", got.Index, got.ClusterID, set.Index, set.ClusterID)
	}
	// Keys without a leading slash are relative to the root.
	rel, err := k.Get(ctx, key(t, "a")[1:], nil)
	if err != nil || rel.Node.Value != "bar" {
		t.Fatalf("Get without leading slash: %+v, %v", rel, err)
	}
}

func TestGetMissingKeyIsKeyNotFound(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	_, err := k.Get(ctx, key(t, "missing"), nil)
	if !IsKeyNotFound(err) {
		t.Fatalf("got %v, want a key-not-found error", err)
	}
	e, ok := err.(Error)
	// The cause is the first path element that does not exist.
	if !ok || e.Code != ErrorCodeKeyNotFound || e.Cause != keyDir(t) || e.Index == 0 {
		t.Fatalf("got %#v, want Error{Code: 100, Cause: %q, Index > 0}", err, keyDir(t))
	}
	if want := "100: Key not found (" + keyDir(t) + ") [" + strconv.FormatUint(e.Index, 10) + "]"; err.Error() != want {
		t.Fatalf("got message %q, want %q", err.Error(), want)
	}
}

func TestSetWithPrevValueSwapsOnlyOnMatch(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	if _, err := k.Set(ctx, key(t, "k"), "one", nil); err != nil {
		t.Fatal(err)
	}
	_, err := k.Set(ctx, key(t, "k"), "two", &SetOptions{PrevValue: "other"})
	wantCode(t, err, ErrorCodeTestFailed)
	resp, err := k.Set(ctx, key(t, "k"), "two", &SetOptions{PrevValue: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Action != "compareAndSwap" || resp.Node.Value != "two" || resp.PrevNode == nil || resp.PrevNode.Value != "one" {
		t.Fatalf("got %+v (prev %+v), want compareAndSwap one -> two", resp, resp.PrevNode)
	}
}

func TestSetWithPrevIndexSwapsOnlyOnMatch(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	first, err := k.Set(ctx, key(t, "k"), "one", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.Set(ctx, key(t, "k"), "two", &SetOptions{PrevIndex: first.Node.ModifiedIndex + 1000})
	wantCode(t, err, ErrorCodeTestFailed)
	resp, err := k.Set(ctx, key(t, "k"), "two", &SetOptions{PrevIndex: first.Node.ModifiedIndex})
	if err != nil || resp.Action != "compareAndSwap" {
		t.Fatalf("got %+v, %v; want compareAndSwap", resp, err)
	}
}

func TestCreateFailsWhenKeyExistsAndUpdateWhenItDoesNot(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	_, err := k.Update(ctx, key(t, "k"), "v")
	wantCode(t, err, ErrorCodeKeyNotFound)
	resp, err := k.Create(ctx, key(t, "k"), "v")
	if err != nil || resp.Action != "create" {
		t.Fatalf("Create: %+v, %v; want action create", resp, err)
	}
	_, err = k.Create(ctx, key(t, "k"), "w")
	wantCode(t, err, ErrorCodeNodeExist)
	resp, err = k.Update(ctx, key(t, "k"), "w")
	if err != nil || resp.Action != "update" || resp.Node.Value != "w" {
		t.Fatalf("Update: %+v, %v; want action update to w", resp, err)
	}
	// The explicit form of both.
	_, err = k.Set(ctx, key(t, "k"), "x", &SetOptions{PrevExist: PrevNoExist})
	wantCode(t, err, ErrorCodeNodeExist)
	if _, err = k.Set(ctx, key(t, "k"), "x", &SetOptions{PrevExist: PrevExist}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteWithPrevValueAndPrevIndexDeletesOnlyOnMatch(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	set, err := k.Set(ctx, key(t, "k"), "v", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.Delete(ctx, key(t, "k"), &DeleteOptions{PrevValue: "other"})
	wantCode(t, err, ErrorCodeTestFailed)
	_, err = k.Delete(ctx, key(t, "k"), &DeleteOptions{PrevIndex: set.Node.ModifiedIndex + 1000})
	wantCode(t, err, ErrorCodeTestFailed)
	resp, err := k.Delete(ctx, key(t, "k"), &DeleteOptions{PrevValue: "v", PrevIndex: set.Node.ModifiedIndex})
	if err != nil || resp.Action != "compareAndDelete" || resp.PrevNode == nil || resp.PrevNode.Value != "v" {
		t.Fatalf("got %+v, %v; want compareAndDelete of v", resp, err)
	}
	_, err = k.Delete(ctx, key(t, "k"), nil)
	wantCode(t, err, ErrorCodeKeyNotFound)
}

func TestDirectories(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	dir := key(t, "dir")
	resp, err := k.Set(ctx, dir, "ignored", &SetOptions{Dir: true})
	if err != nil || !resp.Node.Dir {
		t.Fatalf("Set Dir: %+v, %v; want a directory", resp, err)
	}
	_, err = k.Set(ctx, dir+"/child", "", &SetOptions{Dir: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.Set(ctx, dir, "v", nil)
	wantCode(t, err, ErrorCodeNotFile)
	_, err = k.Delete(ctx, dir, nil)
	wantCode(t, err, ErrorCodeNotFile)
	_, err = k.Delete(ctx, dir, &DeleteOptions{Dir: true})
	wantCode(t, err, ErrorCodeDirNotEmpty)
	if _, err = k.Delete(ctx, dir+"/child", &DeleteOptions{Dir: true}); err != nil {
		t.Fatalf("deleting an empty directory: %v", err)
	}
	if _, err = k.Set(ctx, dir+"/a/b/c", "v", nil); err != nil {
		t.Fatal(err)
	}
	if _, err = k.Delete(ctx, dir, &DeleteOptions{Recursive: true}); err != nil {
		t.Fatalf("deleting a tree: %v", err)
	}
	_, err = k.Get(ctx, dir+"/a/b/c", nil)
	wantCode(t, err, ErrorCodeKeyNotFound)
}

func TestGetRecursiveSortedReturnsSortedTree(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	for _, name := range []string{"c", "a/y", "b", "a/x", "d/z"} {
		if _, err := k.Set(ctx, key(t, name), name, nil); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := k.Get(ctx, key(t, ""), &GetOptions{Recursive: true, Sort: true})
	if err != nil {
		t.Fatal(err)
	}
	var flat []string
	var walk func(Nodes)
	walk = func(ns Nodes) {
		for _, n := range ns {
			flat = append(flat, n.Key)
			walk(n.Nodes)
		}
	}
	walk(resp.Node.Nodes)
	want := []string{key(t, "a"), key(t, "a/x"), key(t, "a/y"), key(t, "b"), key(t, "c"), key(t, "d"), key(t, "d/z")}
	if !slices.Equal(flat, want) {
		t.Fatalf("got keys %v, want %v", flat, want)
	}
	// Without Recursive, a directory's children come without theirs.
	top, err := k.Get(ctx, key(t, ""), &GetOptions{Sort: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Node.Nodes) != 4 || top.Node.Nodes[0].Nodes != nil {
		t.Fatalf("got %d children, first with children %v; want 4 without", len(top.Node.Nodes), top.Node.Nodes[0].Nodes)
	}
	// Nodes sorts like the server does.
	shuffled := slices.Clone(top.Node.Nodes)
	slices.Reverse(shuffled)
	sort.Sort(shuffled)
	for i := range shuffled {
		if shuffled[i].Key != top.Node.Nodes[i].Key {
			t.Fatalf("sort.Sort(Nodes) put %s at %d, want %s", shuffled[i].Key, i, top.Node.Nodes[i].Key)
		}
	}
}

func TestQuorumGetReturnsLatestWrite(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	for i := range 5 {
		v := strconv.Itoa(i)
		if _, err := k.Set(ctx, key(t, "k"), v, nil); err != nil {
			t.Fatal(err)
		}
		resp, err := k.Get(ctx, key(t, "k"), &GetOptions{Quorum: true})
		if err != nil || resp.Node.Value != v {
			t.Fatalf("quorum Get: %+v, %v; want value %s", resp, err, v)
		}
	}
}

func TestSetWithTTLExpiresKey(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	set, err := k.Set(ctx, key(t, "k"), "v", &SetOptions{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if set.Node.TTL != 1 || set.Node.TTLDuration() != time.Second || set.Node.Expiration == nil {
		t.Fatalf("got TTL %d (%v), Expiration %v; want 1s and a time", set.Node.TTL, set.Node.TTLDuration(), set.Node.Expiration)
	}
	w := k.Watcher(key(t, "k"), &WatcherOptions{AfterIndex: set.Node.ModifiedIndex})
	ev, err := w.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Action != "expire" || ev.Node.Key != key(t, "k") {
		t.Fatalf("got event %s on %s, want expire on %s", ev.Action, ev.Node.Key, key(t, "k"))
	}
	_, err = k.Get(ctx, key(t, "k"), nil)
	wantCode(t, err, ErrorCodeKeyNotFound)
}

func TestRefreshResetsTTLAndKeepsValue(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	if _, err := k.Set(ctx, key(t, "k"), "v", &SetOptions{TTL: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	resp, err := k.Set(ctx, key(t, "k"), "", &SetOptions{TTL: time.Hour, Refresh: true, PrevExist: PrevExist})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Node.Value != "v" || resp.Node.TTL <= 5 {
		t.Fatalf("after refresh: value %q TTL %d, want v and about an hour", resp.Node.Value, resp.Node.TTL)
	}
	// A refresh carries no value.
	_, err = k.Set(ctx, key(t, "k"), "new", &SetOptions{TTL: time.Hour, Refresh: true})
	if err == nil {
		t.Fatal("refresh with a value succeeded, want an error")
	}
}

func TestCreateInOrderKeysSortInCreationOrder(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	var created []string
	for i := range 3 {
		resp, err := k.CreateInOrder(ctx, key(t, "q"), strconv.Itoa(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Action != "create" {
			t.Fatalf("got action %s, want create", resp.Action)
		}
		created = append(created, resp.Node.Key)
	}
	resp, err := k.CreateInOrder(ctx, key(t, "q"), "ttl", &CreateInOrderOptions{TTL: time.Hour})
	if err != nil || resp.Node.TTL <= 0 {
		t.Fatalf("CreateInOrder with TTL: %+v, %v; want a TTL", resp, err)
	}
	created = append(created, resp.Node.Key)
	list, err := k.Get(ctx, key(t, "q"), &GetOptions{Sort: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range list.Node.Nodes {
		got = append(got, n.Key)
	}
	if !slices.Equal(got, created) {
		t.Fatalf("sorted keys %v, want creation order %v", got, created)
	}
}

func TestNoValueOnSuccessOmitsNode(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	resp, err := k.Set(ctx, key(t, "k"), "v", &SetOptions{NoValueOnSuccess: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Action != "set" || resp.Node != nil || resp.Index == 0 {
		t.Fatalf("got %+v, want action set without a node", resp)
	}
	// A failure still describes the node.
	_, err = k.Set(ctx, key(t, "k"), "w", &SetOptions{NoValueOnSuccess: true, PrevValue: "x"})
	wantCode(t, err, ErrorCodeTestFailed)
}

func TestKeysAPIWithPrefixUsesThatPath(t *testing.T) {
	c, _ := newClient(t, shared.ClientURLs(), Config{})
	ctx := testCtx(t)
	prefixed := NewKeysAPIWithPrefix(c, "/v2/keys"+keyDir(t))
	if _, err := prefixed.Set(ctx, "k", "v", nil); err != nil {
		t.Fatal(err)
	}
	resp, err := NewKeysAPI(c).Get(ctx, key(t, "k"), nil)
	if err != nil || resp.Node.Value != "v" {
		t.Fatalf("got %+v, %v; want the key under the prefix", resp, err)
	}
}

func TestKeysWithSpecialCharactersRoundTrip(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	for _, name := range []string{"sp ace", "q?uery", "h#ash", "per%cent", "plus+sign", "uni✓"} {
		if _, err := k.Set(ctx, key(t, name), name, nil); err != nil {
			t.Fatalf("Set %q: %v", name, err)
		}
		resp, err := k.Get(ctx, key(t, name), nil)
		if err != nil || resp.Node.Key != key(t, name) || resp.Node.Value != name {
			t.Fatalf("Get %q: %+v, %v", name, resp, err)
		}
	}
}

func TestWatcherRecursiveReturnsEveryEventInOrder(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	start, err := k.Set(ctx, key(t, "start"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for _, name := range []string{"a", "b/c", "a"} {
		resp, err := k.Set(ctx, key(t, name), "v", nil)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, resp.Node.ModifiedIndex)
	}
	del, err := k.Delete(ctx, key(t, "a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, del.Node.ModifiedIndex)

	w := k.Watcher(key(t, ""), &WatcherOptions{AfterIndex: start.Node.ModifiedIndex, Recursive: true})
	var got []uint64
	for range want {
		ev, err := w.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Node.ModifiedIndex)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("watched indexes %v, want %v", got, want)
	}

	// A non-recursive watcher sees only its key.
	only := k.Watcher(key(t, "b/c"), &WatcherOptions{AfterIndex: start.Node.ModifiedIndex})
	ev, err := only.Next(ctx)
	if err != nil || ev.Node.Key != key(t, "b/c") {
		t.Fatalf("got %+v, %v; want the event on b/c", ev, err)
	}
}

func TestWatcherFromNowReturnsTheNextEvent(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	w := k.Watcher(key(t, "k"), nil)
	// Write once the long poll is in place, known from its first byte of
	// response (the server sends headers at once).
	polling := make(chan struct{})
	var once sync.Once
	wctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotFirstResponseByte: func() { once.Do(func() { close(polling) }) },
	})
	errc := make(chan error, 1)
	go func() {
		<-polling
		_, err := k.Set(ctx, key(t, "k"), "v", nil)
		errc <- err
	}()
	ev, err := w.Next(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if ev.Action != "set" || ev.Node.Value != "v" {
		t.Fatalf("got %+v, want the set of v", ev)
	}
}

func TestWatcherAfterClearedIndexReturnsEventIndexCleared(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	first, err := k.Set(ctx, key(t, "k"), "0", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The server keeps the last 1000 events: push this one out.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 64 {
				if _, err := k.Set(ctx, key(t, "k"+strconv.Itoa(g)), strconv.Itoa(i), nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	w := k.Watcher(key(t, "k"), &WatcherOptions{AfterIndex: first.Node.ModifiedIndex - 1})
	_, err = w.Next(ctx)
	wantCode(t, err, ErrorCodeEventIndexCleared)
}

func TestNextReturnsTheContextsErrorItself(t *testing.T) {
	k := sharedKeys(t)
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	_, err := k.Watcher(key(t, "quiet"), nil).Next(ctx)
	if err != context.DeadlineExceeded {
		t.Fatalf("got %v, want context.DeadlineExceeded itself", err)
	}
	canceled, cancel2 := context.WithCancel(testCtx(t))
	cancel2()
	_, err = k.Get(canceled, key(t, "k"), nil)
	if err != context.Canceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled itself", err)
	}
}
