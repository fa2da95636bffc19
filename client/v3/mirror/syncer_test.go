package mirror_test

import (
	"context"
	"fmt"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/mirror"
)

// drainBase collects the keys and values SyncBase sends, and the number of
// pages.
func drainBase(t *testing.T, ctx context.Context, s mirror.Syncer) (map[string]string, int) {
	t.Helper()
	respc, errc := s.SyncBase(ctx)
	got := map[string]string{}
	pages := 0
	var revs []int64
	for resp := range respc {
		pages++
		revs = append(revs, resp.Header.Revision)
		for _, kv := range resp.Kvs {
			got[string(kv.Key)] = string(kv.Value)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("SyncBase: %v", err)
	}
	for _, r := range revs[1:] {
		if r != revs[0] {
			t.Errorf("pages at revisions %v, want all at one revision", revs)
			break
		}
	}
	return got, pages
}

func TestSyncBaseReadsThePrefixAtOneRevisionInPages(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	const n = 2500 // three pages of at most 1000
	for i := 0; i < n; i += 100 {
		ops := make([]clientv3.Op, 0, 100)
		for j := i; j < i+100; j++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("%sk%05d", pfx, j), fmt.Sprint(j)))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, pfx[:len(pfx)-1]+"~outside", "x"); err != nil {
		t.Fatal(err)
	}

	s := mirror.NewSyncer(cli, pfx, 0)
	got, pages := drainBase(t, ctx, s)
	if len(got) != n {
		t.Fatalf("SyncBase returned %d keys, want %d", len(got), n)
	}
	if pages < 3 {
		t.Errorf("SyncBase returned %d pages, want at least 3 for %d keys", pages, n)
	}
	if got[pfx+"k01234"] != "1234" {
		t.Errorf("value of k01234 = %q, want 1234", got[pfx+"k01234"])
	}

	// Changes after the base revision come through SyncUpdates, from
	// the first one on.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := cli.Put(ctx, pfx+"k00000", "changed"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, pfx+"k00001"); err != nil {
		t.Fatal(err)
	}
	wch := s.SyncUpdates(wctx)
	var evs []string
	for len(evs) < 2 {
		wr, ok := <-wch
		if !ok {
			t.Fatal("SyncUpdates channel closed")
		}
		if err := wr.Err(); err != nil {
			t.Fatal(err)
		}
		for _, ev := range wr.Events {
			evs = append(evs, fmt.Sprintf("%s %s", ev.Type, ev.Kv.Key))
		}
	}
	want := fmt.Sprint([]string{"PUT " + pfx + "k00000", "DELETE " + pfx + "k00001"})
	if fmt.Sprint(evs) != want {
		t.Errorf("updates = %v, want %v", evs, want)
	}
}

func TestSyncBaseAtAGivenRevisionIgnoresLaterWrites(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	resp, err := cli.Put(ctx, pfx+"a", "old")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, pfx+"a", "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, pfx+"b", "later"); err != nil {
		t.Fatal(err)
	}
	got, _ := drainBase(t, ctx, mirror.NewSyncer(cli, pfx, resp.Header.Revision))
	if len(got) != 1 || got[pfx+"a"] != "old" {
		t.Errorf("SyncBase at revision %d = %v, want only a=old", resp.Header.Revision, got)
	}
}

func TestSyncUpdatesBeforeSyncBaseReportsAnError(t *testing.T) {
	cli := sharedcluster.Client(t)
	wch := mirror.NewSyncer(cli, sharedcluster.Prefix(t), 0).SyncUpdates(sharedcluster.Context(t))
	wr, ok := <-wch
	if !ok || wr.Err() == nil {
		t.Fatalf("first response = %+v (ok %v), want one with an error", wr, ok)
	}
	if _, ok := <-wch; ok {
		t.Error("channel still open after the error")
	}
}

func TestSyncBaseWithCanceledContextReportsTheError(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	respc, errc := mirror.NewSyncer(cli, sharedcluster.Prefix(t), 0).SyncBase(ctx)
	for range respc {
	}
	if err := <-errc; err == nil {
		t.Error("SyncBase with a canceled context reported no error")
	}
}

func TestSyncUpdatesRightAfterSyncBaseReturnsSeesEveryLaterChange(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	if _, err := cli.Put(ctx, pfx+"base", "1"); err != nil {
		t.Fatal(err)
	}
	s := mirror.NewSyncer(cli, pfx, 0)
	respc, errc := s.SyncBase(ctx)
	// Not waiting for the pages: the official SyncBase reads the base
	// revision before it returns, so SyncUpdates works at once.
	wch := s.SyncUpdates(ctx)
	if _, err := cli.Put(ctx, pfx+"later", "2"); err != nil {
		t.Fatal(err)
	}
	wr := <-wch
	if err := wr.Err(); err != nil || wr.Canceled {
		t.Fatalf("SyncUpdates right after SyncBase returned: %+v (error %v); the official syncer watches from the base revision", wr, err)
	}
	if len(wr.Events) != 1 || string(wr.Events[0].Kv.Key) != pfx+"later" {
		t.Errorf("first update = %v, want only the put of %slater", wr.Events, pfx)
	}
	var base []string
	for resp := range respc {
		for _, kv := range resp.Kvs {
			base = append(base, string(kv.Key))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(base) != 1 || base[0] != pfx+"base" {
		t.Errorf("SyncBase sent %v, want only %sbase", base, pfx)
	}
}

func TestSyncBaseReportsAFailedRevisionReadBeforeReturning(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	respc, errc := mirror.NewSyncer(cli, sharedcluster.Prefix(t), 0).SyncBase(ctx)
	// The official SyncBase closes both channels before it returns when
	// reading the current revision fails.
	select {
	case err, ok := <-errc:
		if !ok || err == nil {
			t.Fatalf("error channel gave %v (open %v), want the failed read's error", err, ok)
		}
	default:
		t.Fatal("no error ready when SyncBase returned; the official reports a failed revision read synchronously")
	}
	select {
	case _, ok := <-respc:
		if ok {
			t.Error("a response was sent though the revision read failed")
		}
	default:
		t.Error("response channel still open when SyncBase returned after a failed revision read")
	}
}
