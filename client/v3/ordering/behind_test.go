package ordering_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/ordering"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// aheadMark in a key sends the request to the store that is ahead.
const aheadMark = "@ahead"

// routedKV sends each request to one of two independent clusters: to the
// one ahead if its key contains aheadMark, otherwise to the one behind. A
// transaction goes where its first Then operation would. It makes one
// ordering wrapper see a newer store and then an older one at will.
type routedKV struct{ ahead, behind clientv3.KV }

func (r routedKV) to(op clientv3.Op) clientv3.KV {
	if op.IsTxn() {
		_, thenOps, _ := op.Txn()
		if len(thenOps) == 0 {
			return r.behind
		}
		return r.to(thenOps[0])
	}
	if bytes.Contains(op.KeyBytes(), []byte(aheadMark)) {
		return r.ahead
	}
	return r.behind
}

func (r routedKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	return r.to(clientv3.OpGet(key)).Get(ctx, key, opts...)
}
func (r routedKV) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	return r.to(clientv3.OpGet(key)).Put(ctx, key, val, opts...)
}
func (r routedKV) GetStream(ctx context.Context, key string, opts ...clientv3.OpOption) (clientv3.GetStreamChan, error) {
	return r.to(clientv3.OpGet(key)).GetStream(ctx, key, opts...)
}
func (r routedKV) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	return r.to(clientv3.OpGet(key)).Delete(ctx, key, opts...)
}
func (r routedKV) Compact(ctx context.Context, rev int64, opts ...clientv3.CompactOption) (*clientv3.CompactResponse, error) {
	return r.behind.Compact(ctx, rev, opts...)
}
func (r routedKV) Do(ctx context.Context, op clientv3.Op) (clientv3.OpResponse, error) {
	return r.to(op).Do(ctx, op)
}
func (r routedKV) Txn(ctx context.Context) clientv3.Txn { return r.behind.Txn(ctx) }

// TestOrderingAgainstAStoreThatIsBehind runs the wrapper over two
// independent clusters, the shared one kept at a higher revision than one
// of the test's own, so that stale responses come deterministically.
func TestOrderingAgainstAStoreThatIsBehind(t *testing.T) {
	ctx := sharedcluster.Context(t)
	aheadCli := sharedcluster.Client(t)
	behindCli := sharedcluster.ClientOf(t, etcdtest.NewCluster(t).Endpoints())
	inner := routedKV{ahead: aheadCli.KV, behind: behindCli.KV}
	errStale := errors.New("stale response")

	// keepAhead writes to the store ahead until its revision is well past
	// the one behind, and returns the key to read it by.
	keepAhead := func(t *testing.T) string {
		t.Helper()
		key := sharedcluster.Prefix(t) + aheadMark
		for {
			b, err := behindCli.Get(ctx, "any")
			if err != nil {
				t.Fatal(err)
			}
			a, err := aheadCli.Put(ctx, key, "filler")
			if err != nil {
				t.Fatal(err)
			}
			if a.Header.Revision > b.Header.Revision+5 {
				return key
			}
		}
	}

	t.Run("PutDeleteAndDoDoNotRaiseTheRevisionGetIsCheckedAgainst", func(t *testing.T) {
		aheadKey := keepAhead(t)
		var calls []int64
		kv := ordering.NewKV(inner, func(_ clientv3.Op, _ clientv3.OpResponse, prevRev int64) error {
			calls = append(calls, prevRev)
			return errStale
		})
		if _, err := kv.Put(ctx, aheadKey, "v"); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Delete(ctx, aheadKey); err != nil {
			t.Fatal(err)
		}
		for _, op := range []clientv3.Op{
			clientv3.OpPut(aheadKey, "v"),
			clientv3.OpGet(aheadKey),
			clientv3.OpTxn(nil, []clientv3.Op{clientv3.OpGet(aheadKey)}, nil),
		} {
			if _, err := kv.Do(ctx, op); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := kv.Get(ctx, sharedcluster.Prefix(t)+"k"); err != nil {
			t.Errorf("Get from the store behind after Put, Delete and Do on the one ahead: %v; the official wrapper records no revision from them, so the Get is no violation", err)
		}
		if len(calls) != 0 {
			t.Errorf("violation function called with prevRev %v; the official wrapper never calls it here", calls)
		}
	})

	t.Run("DoIsNotCheckedAgainstTheNewestRevision", func(t *testing.T) {
		aheadKey := keepAhead(t)
		behindKey := sharedcluster.Prefix(t) + "k"
		var calls []int64
		kv := ordering.NewKV(inner, func(_ clientv3.Op, _ clientv3.OpResponse, prevRev int64) error {
			calls = append(calls, prevRev)
			return errStale
		})
		seen, err := kv.Get(ctx, aheadKey)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := kv.Do(ctx, clientv3.OpGet(behindKey))
		if err != nil || resp.Get().Header.Revision >= seen.Header.Revision {
			t.Fatalf("Do(OpGet) on the store behind: %v, %v; want its older response unchanged, as the official wrapper passes Do through", resp.Get(), err)
		}
		if _, err := kv.Do(ctx, clientv3.OpTxn(nil, []clientv3.Op{clientv3.OpGet(behindKey)}, nil)); err != nil {
			t.Errorf("Do(read-only OpTxn) on the store behind: %v; the official wrapper passes Do through", err)
		}
		if len(calls) != 0 {
			t.Errorf("violation function called by Do with prevRev %v; the official wrapper never calls it for Do", calls)
		}
		if _, err := kv.Get(ctx, behindKey); !errors.Is(err, errStale) {
			t.Errorf("Get on the store behind after a Get on the one ahead: %v; want the violation function's error", err)
		}
	})

	t.Run("ViolationFuncIsToldTheRevisionTheCallBeganWith", func(t *testing.T) {
		aheadKey := keepAhead(t)
		var kv clientv3.KV
		var calls []int64
		kv = ordering.NewKV(inner, func(op clientv3.Op, resp clientv3.OpResponse, prevRev int64) error {
			calls = append(calls, prevRev)
			if len(calls) > 1 {
				return errStale
			}
			// Raise the wrapper's newest revision while the first
			// Get is between two tries.
			if _, err := aheadCli.Put(ctx, aheadKey, "newer"); err != nil {
				return err
			}
			_, err := kv.Get(ctx, aheadKey)
			return err
		})
		first, err := kv.Get(ctx, aheadKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Get(ctx, sharedcluster.Prefix(t)+"k"); !errors.Is(err, errStale) {
			t.Fatalf("Get on the store behind: %v; want the violation function's error on the second try", err)
		}
		want := first.Header.Revision
		if len(calls) != 2 || calls[0] != want || calls[1] != want {
			t.Errorf("violation function told prevRev %v; the official wrapper tells both tries %d, the revision when the Get began", calls, want)
		}
	})

	t.Run("ReadOnlyTxnIsIssuedAgainWhenTheFuncReturnsNil", func(t *testing.T) {
		aheadKey := keepAhead(t)
		var ops []clientv3.Op
		kv := ordering.NewKV(inner, func(op clientv3.Op, _ clientv3.OpResponse, _ int64) error {
			ops = append(ops, op)
			if len(ops) > 1 {
				return errStale
			}
			return nil
		})
		if _, err := kv.Get(ctx, aheadKey); err != nil {
			t.Fatal(err)
		}
		_, err := kv.Txn(ctx).Then(clientv3.OpGet(sharedcluster.Prefix(t) + "k")).Commit()
		if !errors.Is(err, errStale) {
			t.Errorf("read-only Txn on the store behind: %v; want the violation function's error on the second try", err)
		}
		if len(ops) != 2 || !ops[0].IsTxn() || !ops[1].IsTxn() {
			t.Errorf("violation function got %d ops, want the OpTxn twice, as the official wrapper gives it", len(ops))
		}
	})

	t.Run("WriteTxnIsNotIssuedAgainWhenTheFuncReturnsNil", func(t *testing.T) {
		aheadKey := keepAhead(t)
		key := sharedcluster.Prefix(t) + "k"
		var calls []int64
		kv := ordering.NewKV(inner, func(_ clientv3.Op, _ clientv3.OpResponse, prevRev int64) error {
			calls = append(calls, prevRev)
			return nil
		})
		seen, err := kv.Get(ctx, aheadKey)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := kv.Txn(ctx).Then(clientv3.OpPut(key, "v")).Commit()
		if err != nil || !resp.Succeeded {
			t.Fatalf("write Txn on the store behind: %v, %v; want its response", resp, err)
		}
		if len(calls) != 1 || calls[0] != seen.Header.Revision {
			t.Errorf("violation function told prevRev %v; want one call with %d, as the official wrapper makes", calls, seen.Header.Revision)
		}
		got, err := behindCli.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Kvs) != 1 || got.Kvs[0].Version != 1 {
			t.Errorf("key written by the Txn: %v; want version 1 (the official wrapper issues the Txn again and writes twice; see docs/COMPATIBILITY.md)", got.Kvs)
		}
	})
}
