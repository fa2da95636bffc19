package sharedcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// CompactUnderWatches makes every watch of m's clients that starts at or
// before from come back compacted: it writes twice under pfx (a compaction
// at the store's revision would keep a watch from the next one), compacts
// at the second write, and has m drop its client connections, so that the
// watches are made again from where they were. cli must be a client of m
// alone. A watch of cli from from, made before the fault, must end with
// ErrCompacted, or the fault proved nothing and t fails.
func CompactUnderWatches(t testing.TB, ctx context.Context, m *etcdtest.Member, cli *clientv3.Client, pfx string, from int64) {
	t.Helper()
	control := cli.Watch(ctx, pfx+"compact-control", clientv3.WithRev(from))
	var rev int64
	for range 2 {
		resp, err := cli.Put(ctx, pfx+"compact-filler", "x")
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	m.DropConnections()
	select {
	case wr := <-control:
		if !errors.Is(wr.Err(), rpctypes.ErrCompacted) {
			t.Fatalf("a watch from revision %d came back with %+v after the compaction at %d and the dropped connections; want ErrCompacted", from, wr, rev)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("a watch from revision %d did not come back compacted after the compaction at %d and the dropped connections", from, rev)
	}
}

// WaitsThroughCompaction checks that a wait blocked on something held
// under pfx, whose watch starts at or before from, goes on waiting through
// CompactUnderWatches, and returns nil once release lets it go. waited
// gets what the wait returned; what names it in failures.
func WaitsThroughCompaction(t testing.TB, ctx context.Context, m *etcdtest.Member, cli *clientv3.Client, pfx string, from int64, what string, waited <-chan error, release func() error) {
	t.Helper()
	CompactUnderWatches(t, ctx, m, cli, pfx, from)
	select {
	case err := <-waited:
		t.Fatalf("%s returned %v after the compaction while what it waits for was still held; want it to go on waiting", what, err)
	case <-time.After(500 * time.Millisecond):
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("%s returned %v once what it waited for was released; want nil", what, err)
		}
	case <-ctx.Done():
		t.Fatalf("%s still waits after what it waited for was released", what)
	}
}
