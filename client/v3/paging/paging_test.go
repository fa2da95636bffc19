package paging_test

import (
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/paging"
)

// putKeys puts n keys under prefix, k000 to k<n-1>, and returns the
// revision of the last put.
func putKeys(t *testing.T, cli *clientv3.Client, prefix string, n int) int64 {
	t.Helper()
	var rev int64
	for i := range n {
		resp, err := cli.Put(sharedcluster.Context(t), fmt.Sprintf("%sk%03d", prefix, i), fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	return rev
}

// collect reads the iterator to its end and returns the keys and the error.
func collect(t *testing.T, seq func(func(k string, err error) bool)) ([]string, error) {
	t.Helper()
	var keys []string
	var last error
	seq(func(k string, err error) bool {
		if err != nil {
			last = err
			return false
		}
		keys = append(keys, k)
		return true
	})
	return keys, last
}

func keysOf(t *testing.T, cli *clientv3.Client, key string, size int64, opts ...clientv3.OpOption) ([]string, error) {
	t.Helper()
	return collect(t, func(yield func(string, error) bool) {
		for kv, err := range paging.Range(sharedcluster.Context(t), cli, key, size, opts...) {
			k := ""
			if kv != nil {
				k = string(kv.Key)
			}
			if !yield(k, err) {
				return
			}
		}
	})
}

func wantKeys(prefix string, from, to int) []string {
	var ks []string
	for i := from; i < to; i++ {
		ks = append(ks, fmt.Sprintf("%sk%03d", prefix, i))
	}
	return ks
}

func sameKeys(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %d keys %v, want %d keys %v", what, len(got), got, len(want), want)
	}
}

func TestRangeReadsEveryKeyOfAPrefixInKeyOrderPageByPage(t *testing.T) {
	cli := sharedcluster.Client(t)
	prefix := sharedcluster.Prefix(t)
	putKeys(t, cli, prefix, 25)
	for _, size := range []int64{1, 10, 25, 100} {
		got, err := keysOf(t, cli, prefix, size, clientv3.WithPrefix())
		if err != nil {
			t.Fatalf("page size %d: %v", size, err)
		}
		sameKeys(t, fmt.Sprintf("page size %d", size), got, wantKeys(prefix, 0, 25))
	}
}

func TestRangeHonoursRangeFromKeyLimitAndSingleKeys(t *testing.T) {
	cli := sharedcluster.Client(t)
	prefix := sharedcluster.Prefix(t)
	putKeys(t, cli, prefix, 12)
	got, err := keysOf(t, cli, prefix+"k003", 4, clientv3.WithRange(prefix+"k010"))
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "WithRange k003..k010", got, wantKeys(prefix, 3, 10))
	got, err = keysOf(t, cli, prefix+"k007", 2, clientv3.WithRange(prefix+"k999"), clientv3.WithLimit(3))
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "WithLimit(3) from k007", got, wantKeys(prefix, 7, 10))
	got, err = keysOf(t, cli, prefix+"k005", 1)
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "one key", got, wantKeys(prefix, 5, 6))
	got, err = keysOf(t, cli, prefix+"k010", 1, clientv3.WithFromKey(), clientv3.WithLimit(2))
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "WithFromKey from k010, limit 2", got, wantKeys(prefix, 10, 12))
}

func TestRangeReadsEveryPageAtTheFirstPagesRevision(t *testing.T) {
	cli := sharedcluster.Client(t)
	prefix := sharedcluster.Prefix(t)
	putKeys(t, cli, prefix, 10)
	ctx := sharedcluster.Context(t)
	var got []string
	for kv, err := range paging.Range(ctx, cli, prefix, 3, clientv3.WithPrefix()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(kv.Key))
		if len(got) == 1 {
			// Written after the first page: never part of the read.
			if _, err := cli.Put(ctx, prefix+"k005a", "new"); err != nil {
				t.Fatal(err)
			}
			if _, err := cli.Delete(ctx, prefix+"k008"); err != nil {
				t.Fatal(err)
			}
		}
	}
	sameKeys(t, "keys read while others were written", got, wantKeys(prefix, 0, 10))
}

func TestRangeStopsReadingWhenTheLoopBreaks(t *testing.T) {
	cli := sharedcluster.Client(t)
	prefix := sharedcluster.Prefix(t)
	putKeys(t, cli, prefix, 10)
	n := 0
	for _, err := range paging.Range(sharedcluster.Context(t), cli, prefix, 2, clientv3.WithPrefix()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("the loop ran %d times, want 3", n)
	}
}

func TestRangeReportsACompactedRevisionAsErrCompacted(t *testing.T) {
	cli := sharedcluster.Client(t)
	prefix := sharedcluster.Prefix(t)
	putKeys(t, cli, prefix, 6)
	ctx := sharedcluster.Context(t)
	var err error
	read := 0
	for kv, e := range paging.Range(ctx, cli, prefix, 2, clientv3.WithPrefix()) {
		if e != nil {
			err = e
			break
		}
		if read++; read == 1 {
			// Compact past the read's revision, then write so that
			// the compaction has something to be past.
			put, perr := cli.Put(ctx, prefix+"later", "x")
			if perr != nil {
				t.Fatal(perr)
			}
			if _, cerr := cli.Compact(ctx, put.Header.Revision); cerr != nil {
				t.Fatal(cerr)
			}
		}
		_ = kv
	}
	if !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("after %d keys, the read ended with %v; want ErrCompacted", read, err)
	}
}

func TestRangeRefusesSortingCountOnlyAndABadPageSize(t *testing.T) {
	cli := sharedcluster.Client(t)
	prefix := sharedcluster.Prefix(t)
	for name, c := range map[string]struct {
		size int64
		opts []clientv3.OpOption
	}{
		"WithSort":      {10, []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend)}},
		"WithCountOnly": {10, []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCountOnly()}},
		"page size 0":   {0, []clientv3.OpOption{clientv3.WithPrefix()}},
	} {
		_, err := keysOf(t, cli, prefix, c.size, c.opts...)
		if !errors.Is(err, paging.ErrBadOptions) {
			t.Errorf("%s: %v; want an error wrapping ErrBadOptions", name, err)
		}
	}
}
