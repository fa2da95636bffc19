package client

import (
	"context"
	"net/http/httptrace"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The watcher tests of this file hold where a watch from "now" (AfterIndex
// 0) starts after its Next did not return an event.

// watchResult is what a Next run in its own goroutine returned.
type watchResult struct {
	resp *Response
	err  error
}

// nextWhileWriting runs w.Next and, until it returns, sets k to value every
// 100 ms, so that a watch that starts at any moment sees one of those
// writes. It returns the watched value.
func nextWhileWriting(t *testing.T, ctx context.Context, w Watcher, writer KeysAPI, k, value string) *Response {
	t.Helper()
	done := make(chan watchResult, 1)
	go func() {
		r, err := w.Next(ctx)
		done <- watchResult{r, err}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("Next: %v", r.err)
			}
			return r.resp
		case <-tick.C:
			if _, err := writer.Set(ctx, k, value, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// pollStarted returns a context for a Next, and a channel closed once its
// long poll has reached a member.
func pollStarted(ctx context.Context) (context.Context, <-chan struct{}) {
	started := make(chan struct{})
	var once sync.Once
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotFirstResponseByte: func() { once.Do(func() { close(started) }) },
	}), started
}

func TestWatcherFromNowIgnoresTheIndexOfAnErrorReply(t *testing.T) {
	c := newV2Cluster(t, 1)
	ctx := testCtx(t)
	anon, _ := newClient(t, c.ClientURLs(), Config{})
	root, _ := newClient(t, c.ClientURLs(), Config{Username: "root", Password: "rootpw"})
	if err := NewAuthUserAPI(anon).AddUser(ctx, "root", "rootpw"); err != nil {
		t.Fatal(err)
	}
	if err := NewAuthAPI(anon).Enable(ctx); err != nil {
		t.Fatal(err)
	}
	guest := NewAuthRoleAPI(root)
	if _, err := guest.RevokeRoleKV(ctx, "guest", []string{"/*"}, ReadWritePermission); err != nil {
		t.Fatal(err)
	}
	k, writer := key(t, "k"), NewKeysAPI(root)
	if _, err := writer.Set(ctx, k, "old", nil); err != nil {
		t.Fatal(err)
	}

	// Refused: etcd's error reply carries X-Etcd-Index 0, which is not
	// where a watch from now starts.
	w := NewKeysAPI(anon).Watcher(k, nil)
	_, err := w.Next(ctx)
	wantCode(t, err, ErrorCodeUnauthorized)

	if _, err := guest.GrantRoleKV(ctx, "guest", []string{"/*"}, ReadWritePermission); err != nil {
		t.Fatal(err)
	}
	if got := nextWhileWriting(t, ctx, w, writer, k, "new"); got.Node.Value != "new" {
		t.Fatalf("after a refused Next, the watch from now returned %q at index %d; the official client watches from now and returns the next write, %q",
			got.Node.Value, got.Node.ModifiedIndex, "new")
	}
}

func TestWatcherFromNowWhoseNextTimedOutWatchesFromNowAgain(t *testing.T) {
	k, ctx := sharedKeys(t), testCtx(t)
	w := k.Watcher(key(t, "k"), nil)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := w.Next(short)
	cancel()
	if err != context.DeadlineExceeded {
		t.Fatalf("Next with nothing to watch: %v, want context.DeadlineExceeded", err)
	}
	// Written between the two Nexts: the caller may have read it
	// meanwhile, and the official client's next Next starts after it.
	if _, err := k.Set(ctx, key(t, "k"), "between", nil); err != nil {
		t.Fatal(err)
	}
	if got := nextWhileWriting(t, ctx, w, k, key(t, "k"), "after"); got.Node.Value != "after" {
		t.Fatalf("the Next after a timed-out one returned %q; the official client watches from now again and returns %q", got.Node.Value, "after")
	}
}

func TestWatcherFromNowWhosePollWasDroppedResumesWhereItStarted(t *testing.T) {
	c := newV2Cluster(t, 1)
	ctx := testCtx(t)
	cl, _ := newClient(t, c.ClientURLs(), Config{})
	k := NewKeysAPI(cl)
	quiet := key(t, "quiet")

	// dropPoll starts a watch from now on quiet, writes, then cuts its
	// long poll, and returns the watcher, whose Next failed.
	dropPoll := func(write func()) Watcher {
		w := k.Watcher(quiet, nil)
		pctx, started := pollStarted(ctx)
		done := make(chan watchResult, 1)
		go func() {
			r, err := w.Next(pctx)
			done <- watchResult{r, err}
		}()
		<-started
		write()
		c.Members()[0].DropConnections()
		if r := <-done; r.err == nil {
			t.Fatalf("Next returned %+v after its poll was cut, want an error", r.resp)
		}
		return w
	}

	t.Run("WithoutLosingAnEvent", func(t *testing.T) {
		w := dropPoll(func() {})
		if _, err := k.Set(ctx, quiet, "meanwhile", nil); err != nil {
			t.Fatal(err)
		}
		got, err := w.Next(ctx)
		if err != nil || got.Node.Value != "meanwhile" {
			t.Fatalf("Next after the dropped poll: %+v, %v; want the write made after the watch started", got, err)
		}
	})

	t.Run("OrFromNowOnceThatLeftTheHistory", func(t *testing.T) {
		w := dropPoll(func() {
			// etcd keeps the last 1000 events: push out where the
			// poll started.
			for i := range 1010 {
				if _, err := k.Set(ctx, key(t, "busy"), strconv.Itoa(i), nil); err != nil {
					t.Fatal(err)
				}
			}
		})
		if got := nextWhileWriting(t, ctx, w, k, quiet, "after"); got.Node.Value != "after" {
			t.Fatalf("Next after the dropped poll: %+v; want the watch to continue from now, as the official client's does, not fail", got)
		}
	})
}
