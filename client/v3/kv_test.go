package clientv3_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

func TestPutThenGetReturnsTheValue(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	k := key(t, "k")
	put, err := cli.Put(ctx, k, "v1")
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	get, err := cli.Get(ctx, k)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(get.Kvs) != 1 || string(get.Kvs[0].Value) != "v1" {
		t.Fatalf("Get = %v, want one kv with value v1", get.Kvs)
	}
	if get.Kvs[0].ModRevision != put.Header.Revision {
		t.Errorf("ModRevision = %d, want Put's revision %d", get.Kvs[0].ModRevision, put.Header.Revision)
	}
	if get.Count != 1 {
		t.Errorf("Count = %d, want 1", get.Count)
	}
}

func TestPutWithPrevKVReturnsTheOldValue(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	k := key(t, "k")
	put(t, cli, k, "old")
	resp, err := cli.Put(ctx, k, "new", clientv3.WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if resp.PrevKv == nil || string(resp.PrevKv.Value) != "old" {
		t.Fatalf("PrevKv = %v, want value old", resp.PrevKv)
	}
}

func TestGetWithPrefixReturnsSortedKeys(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	p := key(t, "")
	for _, s := range []string{"c", "a", "b"} {
		put(t, cli, p+s, s)
	}
	put(t, cli, p[:len(p)-1]+"X", "outside") // shares all but the prefix's last byte
	resp, err := cli.Get(ctx, p, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(resp); got != "a,b,c" {
		t.Errorf("keys = %s, want a,b,c", got)
	}
	resp, err = cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
	if err != nil {
		t.Fatal(err)
	}
	if got := keysOf(resp); got != "c,b,a" {
		t.Errorf("descending keys = %s, want c,b,a", got)
	}
}

func TestGetOptionsShapeTheResult(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	p := key(t, "")
	var revs []int64
	for _, s := range []string{"a", "b", "c", "d"} {
		r := put(t, cli, p+s, "val-"+s)
		revs = append(revs, r)
	}
	check := func(name, want string, opts ...clientv3.OpOption) {
		t.Helper()
		resp, err := cli.Get(ctx, p, opts...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := keysOf(resp); got != want {
			t.Errorf("%s: keys = %q, want %q", name, got, want)
		}
	}
	check("limit", "a,b", clientv3.WithPrefix(), clientv3.WithLimit(2))
	check("range", "a,b", clientv3.WithRange(p+"c"))
	check("from key", "c,d", clientv3.WithFromKey(), clientv3.WithLimit(2), clientv3.WithMinModRev(revs[2]))
	check("max mod rev", "a,b", clientv3.WithPrefix(), clientv3.WithMaxModRev(revs[1]))
	check("min create rev", "c,d", clientv3.WithPrefix(), clientv3.WithMinCreateRev(revs[2]))
	check("max create rev", "a", clientv3.WithPrefix(), clientv3.WithMaxCreateRev(revs[0]))
	check("serializable", "a,b,c,d", clientv3.WithPrefix(), clientv3.WithSerializable())
	check("at revision", "a,b", clientv3.WithPrefix(), clientv3.WithRev(revs[1]))
	check("last key", "d", clientv3.WithLastKey()...)
	check("first key", "a", clientv3.WithFirstKey()...)
	check("last create", "d", clientv3.WithLastCreate()...)
	check("first rev", "a", clientv3.WithFirstRev()...)

	resp, err := cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 4 || len(resp.Kvs) != 0 {
		t.Errorf("count only: Count=%d len(Kvs)=%d, want 4 and 0", resp.Count, len(resp.Kvs))
	}
	resp, err = cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if len(kv.Value) != 0 {
			t.Errorf("keys only: %s has value %q", kv.Key, kv.Value)
		}
	}
	resp, err = cli.Get(ctx, p, clientv3.WithPrefix(), clientv3.WithLimit(1))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.More || resp.Count != 4 {
		t.Errorf("limit 1: More=%v Count=%d, want true and 4", resp.More, resp.Count)
	}
}

func TestDeleteWithPrefixDeletesOnlyThoseKeys(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	p := key(t, "")
	put(t, cli, p+"a", "1")
	put(t, cli, p+"b", "2")
	put(t, cli, p[:len(p)-1]+"-keep", "3")
	resp, err := cli.Delete(ctx, p, clientv3.WithPrefix(), clientv3.WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Deleted != 2 || len(resp.PrevKvs) != 2 {
		t.Errorf("Deleted=%d PrevKvs=%d, want 2 and 2", resp.Deleted, len(resp.PrevKvs))
	}
	get, err := cli.Get(ctx, p[:len(p)-1]+"-keep")
	if err != nil || len(get.Kvs) != 1 {
		t.Errorf("neighbouring key: %v, %v; want it kept", get, err)
	}
}

func TestPutEmptyKeyFailsWithErrEmptyKey(t *testing.T) {
	cli := newClient(t)
	_, err := cli.Put(ctxT(t), "", "v")
	if err != rpctypes.ErrEmptyKey {
		t.Fatalf("err = %v (%T), want rpctypes.ErrEmptyKey by ==", err, err)
	}
	if !errors.Is(err, rpctypes.ErrEmptyKey) {
		t.Fatalf("errors.Is(%v, ErrEmptyKey) = false", err)
	}
}

func TestGetCompactedRevisionFailsWithErrCompacted(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	k := key(t, "k")
	first := put(t, cli, k, "1")
	last := put(t, cli, k, "2")
	if _, err := cli.Compact(ctx, last); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	_, err := cli.Get(ctx, k, clientv3.WithRev(first))
	if err != rpctypes.ErrCompacted {
		t.Fatalf("Get at compacted revision: err = %v, want ErrCompacted", err)
	}
	if _, err := cli.Compact(ctx, last, clientv3.WithCompactPhysical()); err != rpctypes.ErrCompacted {
		t.Fatalf("second Compact: err = %v, want ErrCompacted", err)
	}
}

func TestDoRunsEachKindOfOp(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	k := key(t, "k")
	ops := []clientv3.Op{
		clientv3.OpPut(k, "v"),
		clientv3.OpGet(k),
		clientv3.OpTxn(nil, []clientv3.Op{clientv3.OpGet(k)}, nil),
		clientv3.OpDelete(k),
	}
	var got []string
	for _, op := range ops {
		r, err := cli.Do(ctx, op)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		switch {
		case r.Put() != nil:
			got = append(got, "put")
		case r.Get() != nil:
			got = append(got, fmt.Sprintf("get:%s", r.Get().Kvs[0].Value))
		case r.Txn() != nil:
			got = append(got, fmt.Sprintf("txn:%v", r.Txn().Succeeded))
		case r.Del() != nil:
			got = append(got, fmt.Sprintf("del:%d", r.Del().Deleted))
		}
	}
	if s := strings.Join(got, " "); s != "put get:v txn:true del:1" {
		t.Errorf("responses = %q, want %q", s, "put get:v txn:true del:1")
	}
}

func TestMisusedOpsFailWithAnErrorInsteadOfPanicking(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	k := key(t, "k")
	for name, op := range map[string]clientv3.Op{
		"get prefix+fromkey": clientv3.OpGet(k, clientv3.WithPrefix(), clientv3.WithFromKey()),
		"put with range":     clientv3.OpPut(k, "v", clientv3.WithRange("z")),
		"delete with limit":  clientv3.OpDelete(k, clientv3.WithLimit(1)),
		"zero op":            {},
		"txn with bad cmp":   clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.Value(k), "~", "x")}, nil, nil),
		"txn with bad value": clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.Version(k), "=", "x")}, nil, nil),
	} {
		if _, err := cli.Do(ctx, op); err == nil {
			t.Errorf("%s: Do returned no error", name)
		}
	}
	if _, err := cli.Txn(ctx).Then().If().Commit(); err == nil {
		t.Errorf("If after Then: Commit returned no error")
	}
}

func TestGetWithAnUnknownSortOptionFailsWithErrInvalidSortOption(t *testing.T) {
	cli := newClient(t)
	_, err := cli.Get(ctxT(t), key(t, "k"), clientv3.WithSort(clientv3.SortTarget(9), clientv3.SortAscend))
	if err != rpctypes.ErrInvalidSortOption {
		t.Errorf("Get with sort target 9: err = %v, want ErrInvalidSortOption as the official client returns", err)
	}
}

func TestGetStreamDeliversEveryKeyOfALargeRange(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	p := key(t, "")
	const n = 300
	val := strings.Repeat("x", 4096)
	for i := range n {
		put(t, cli, fmt.Sprintf("%s%04d", p, i), val)
	}
	ch, err := cli.GetStream(ctx, p, clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("GetStream: %v", err)
	}
	// Count the chunks on the way through: etcd 3.7 streams the range.
	chunks := 0
	counted := make(chan clientv3.RangeStreamResponse)
	go func() {
		defer close(counted)
		for c := range ch {
			chunks++
			counted <- c
		}
	}()
	resp, err := clientv3.GetStreamToGetResponse(counted)
	if err != nil {
		t.Fatalf("GetStreamToGetResponse: %v", err)
	}
	if len(resp.Kvs) != n || resp.Count != n || resp.Header == nil {
		t.Fatalf("got %d kvs, Count %d, header %v; want %d, %d, non-nil", len(resp.Kvs), resp.Count, resp.Header, n, n)
	}
	for i, kv := range resp.Kvs {
		if want := fmt.Sprintf("%s%04d", p, i); string(kv.Key) != want {
			t.Fatalf("kv %d = %s, want %s", i, kv.Key, want)
		}
	}
	if chunks < 2 {
		t.Errorf("got %d chunk(s), want a streamed range of several", chunks)
	}
}

func TestGetStreamReportsEveryServerErrorAsItsTerminalChunk(t *testing.T) {
	cli := newClient(t)
	k := key(t, "k")
	r1 := put(t, cli, k, "1")
	put(t, cli, k, "2")
	if _, err := cli.Compact(ctxT(t), r1+1); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	for _, c := range []struct {
		name string
		opts []clientv3.OpOption
		want error
	}{
		{"a future revision", []clientv3.OpOption{clientv3.WithRev(1 << 40)}, rpctypes.ErrFutureRev},
		{"a compacted revision", []clientv3.OpOption{clientv3.WithRev(r1)}, rpctypes.ErrCompacted},
	} {
		ch, err := cli.GetStream(ctxT(t), k, c.opts...)
		if err != nil {
			t.Fatalf("%s: GetStream returned %v; want the error in the channel", c.name, err)
		}
		var chunks []clientv3.RangeStreamResponse
		for r := range ch {
			chunks = append(chunks, r)
		}
		if len(chunks) != 1 || chunks[0].Err() != c.want || chunks[0].RangeResponse != nil {
			t.Fatalf("%s: got %d chunk(s) %v; want one terminal chunk with %v", c.name, len(chunks), chunks, c.want)
		}
	}
}

func TestGetStreamEndsWithTheContextsErrorWhenCanceled(t *testing.T) {
	cli := newClient(t)
	p := key(t, "")
	val := strings.Repeat("x", 4096)
	for i := range 300 {
		put(t, cli, fmt.Sprintf("%s%04d", p, i), val)
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	ch, err := cli.GetStream(ctx, p, clientv3.WithPrefix())
	if err != nil {
		t.Fatalf("GetStream: %v", err)
	}
	first := <-ch
	if first.Err() != nil {
		t.Fatalf("first chunk: %v", first.Err())
	}
	cancel()
	var last clientv3.RangeStreamResponse
	for r := range ch {
		last = r
	}
	if last.Err() != context.Canceled {
		t.Fatalf("last chunk after cancel: err %v; want context.Canceled, so that a partial range never looks whole", last.Err())
	}
}

// keysOf lists the keys of resp without their common test prefix.
func keysOf(resp *clientv3.GetResponse) string {
	var ks []string
	for _, kv := range resp.Kvs {
		k := string(kv.Key)
		ks = append(ks, k[strings.LastIndexByte(k, '/')+1:])
	}
	return strings.Join(ks, ",")
}
