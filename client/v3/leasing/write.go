package leasing

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/txnbuild"
)

func (lkv *leasingKV) Put(ctx context.Context, key, val string, opts ...v3.OpOption) (*v3.PutResponse, error) {
	resp, err := lkv.put(ctx, v3.OpPut(key, val, opts...))
	if err != nil {
		return nil, err
	}
	return resp.Put(), nil
}

func (lkv *leasingKV) Delete(ctx context.Context, key string, opts ...v3.OpOption) (*v3.DeleteResponse, error) {
	resp, err := lkv.delete(ctx, v3.OpDelete(key, opts...))
	if err != nil {
		return nil, err
	}
	return resp.Del(), nil
}

func (lkv *leasingKV) Do(ctx context.Context, op v3.Op) (v3.OpResponse, error) {
	switch {
	case op.IsGet():
		resp, err := lkv.get(ctx, op)
		if err != nil {
			return v3.OpResponse{}, err
		}
		return resp.OpResponse(), nil
	case op.IsPut():
		return lkv.put(ctx, op)
	case op.IsDelete():
		return lkv.delete(ctx, op)
	case op.IsTxn():
		cmps, thenOps, elseOps := op.Txn()
		resp, err := lkv.commit(ctx, cmps, thenOps, elseOps)
		if err != nil {
			return v3.OpResponse{}, err
		}
		return resp.OpResponse(), nil
	}
	return lkv.kv.Do(ctx, op)
}

func (lkv *leasingKV) Txn(ctx context.Context) v3.Txn {
	return txnbuild.New(func(cmps []v3.Cmp, thenOps, elseOps []v3.Op) (*v3.TxnResponse, error) {
		return lkv.commit(ctx, cmps, thenOps, elseOps)
	})
}

// put writes a single key under the leasing protocol.
func (lkv *leasingKV) put(ctx context.Context, op v3.Op) (v3.OpResponse, error) {
	key := string(op.KeyBytes())
	if key == "" {
		return v3.OpResponse{}, rpctypes.ErrEmptyKey
	}
	resp, err := lkv.writeKey(ctx, key, op)
	if err != nil {
		return v3.OpResponse{}, err
	}
	put := (*v3.PutResponse)(resp.Responses[0].GetResponsePut())
	put.Header = resp.Header
	return put.OpResponse(), nil
}

func (lkv *leasingKV) delete(ctx context.Context, op v3.Op) (v3.OpResponse, error) {
	if len(op.RangeBytes()) > 0 {
		return lkv.deleteRange(ctx, op)
	}
	key := string(op.KeyBytes())
	if key == "" {
		return v3.OpResponse{}, rpctypes.ErrEmptyKey
	}
	resp, err := lkv.writeKey(ctx, key, op)
	if err != nil {
		return v3.OpResponse{}, err
	}
	del := (*v3.DeleteResponse)(resp.Responses[0].GetResponseDeleteRange())
	del.Header = resp.Header
	return del.OpResponse(), nil
}

// writeKey applies op, a write of the single key key, once no other
// client holds key's lease; the first of the transaction's responses is
// op's. If we hold the lease, the write is guarded by our leasing key and
// reads the key back in the same transaction, so that the cache takes the
// key's exact new state (whatever op's options).
func (lkv *leasingKV) writeKey(ctx context.Context, key string, op v3.Op) (*v3.TxnResponse, error) {
	lk := lkv.leasingKey(key)
	for {
		if lkRev := lkv.owned(key); lkRev != 0 {
			doubts := lkv.doubtsNow()
			resp, err := lkv.kv.Txn(ctx).
				If(v3.Compare(v3.CreateRevision(lk), "=", lkRev)).
				Then(op, v3.OpGet(key)).
				Commit()
			if err != nil {
				lkv.doubt(key)
				return nil, err
			}
			if resp.Succeeded {
				lkv.afterWrite([]written{{key, lkRev, resp.Responses[1]}}, resp.Header, doubts)
				return resp, nil
			}
			lkv.evict(key) // our leasing key is gone
			continue
		}
		resp, err := lkv.kv.Txn(ctx).
			If(v3.Compare(v3.CreateRevision(lk), "=", 0)).
			Then(op).
			Else(v3.OpGet(lk)).
			Commit()
		if err != nil {
			return nil, err
		}
		if resp.Succeeded {
			return resp, nil
		}
		if err := lkv.clear(ctx, resp.Responses[0].GetResponseRange().GetKvs(), resp.Header.Revision); err != nil {
			return nil, err
		}
	}
}

// written is a key we own that a transaction wrote, with our leasing
// key's creation revision and the transaction's read of the key after
// the write.
type written struct {
	key   string
	lkRev int64
	read  *pb.ResponseOp
}

// afterWrite caches the states that a successful write, which started
// when the count of doubtful writes was doubts, read back at hdr. All of
// them are taken at once, so that a transaction answered from the cache
// sees all of the write or none of it.
func (lkv *leasingKV) afterWrite(ws []written, hdr *pb.ResponseHeader, doubts uint64) {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	trusted := lkv.doubts == doubts
	for _, w := range ws {
		e := lkv.entries[w.key]
		if e == nil || e.lkRev != w.lkRev {
			continue // our leasing key went meanwhile
		}
		if e.cached && e.hdr.Revision >= hdr.Revision {
			continue // a newer state is cached already
		}
		var kv *mvccpb.KeyValue
		if kvs := w.read.GetResponseRange().GetKvs(); len(kvs) > 0 {
			kv = kvs[0]
		}
		if !trusted || (kv != nil && kv.Lease != 0) {
			e.cached, e.kv, e.hdr = false, nil, nil
			continue
		}
		e.cached, e.kv, e.hdr = true, nil, copyHeader(hdr)
		if kv != nil {
			e.kv = copyKV(kv)
		}
		lkv.noteHeaderLocked(hdr)
	}
}

// clear deals with leasing keys (read at revision rev) that stand in the
// way of a write: ours are adopted so that the write can be guarded by
// them, those left over from our retired lease are deleted, others' are
// revoked and waited for.
func (lkv *leasingKV) clear(ctx context.Context, lks []*mvccpb.KeyValue, rev int64) error {
	lease, retired := lkv.currentLease(), lkv.retiredLease()
	for _, lk := range lks {
		switch owner := v3.LeaseID(lk.Lease); {
		case lease != v3.NoLease && owner == lease && string(lk.Value) != revokeValue:
			lkv.adopt(string(lk.Key[len(lkv.pfx):]), lk.CreateRevision)
		case retired != v3.NoLease && owner == retired:
			if err := lkv.dropLeasingKey(ctx, lk); err != nil {
				return err
			}
		default:
			if err := lkv.revokeAndWait(ctx, lk, rev); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropLeasingKey deletes leasing key lk, unless it was replaced since it
// was read. Only its owner may: we must no longer serve the key.
func (lkv *leasingKV) dropLeasingKey(ctx context.Context, lk *mvccpb.KeyValue) error {
	_, err := lkv.kv.Txn(ctx).
		If(v3.Compare(v3.CreateRevision(string(lk.Key)), "=", lk.CreateRevision)).
		Then(v3.OpDelete(string(lk.Key))).
		Commit()
	return err
}

// adopt records that we hold the leasing key of key, created at lkRev,
// without a cached state.
func (lkv *leasingKV) adopt(key string, lkRev int64) {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	if e := lkv.entries[key]; e == nil || e.lkRev != lkRev {
		lkv.entries[key] = &entry{lkRev: lkRev}
	}
}

// deleteRange deletes a range of keys once no other client holds a lease
// on any key in it. Our own leases in the range are given up first.
func (lkv *leasingKV) deleteRange(ctx context.Context, op v3.Op) (v3.OpResponse, error) {
	lkStart, lkEnd := lkv.leasingRange(op.KeyBytes(), op.RangeBytes())
	for {
		if err := lkv.clearRange(ctx, lkStart, lkEnd); err != nil {
			return v3.OpResponse{}, err
		}
		resp, err := lkv.kv.Txn(ctx).
			If(v3.Compare(v3.CreateRevision(lkStart), "=", 0).WithRange(lkEnd)).
			Then(op).
			Commit()
		if err != nil {
			return v3.OpResponse{}, err
		}
		if resp.Succeeded {
			del := (*v3.DeleteResponse)(resp.Responses[0].GetResponseDeleteRange())
			del.Header = resp.Header
			return del.OpResponse(), nil
		}
	}
}

// leasingRange maps the key range [key, end) onto the leasing keys.
func (lkv *leasingKV) leasingRange(key, end []byte) (string, string) {
	start := lkv.pfx + string(key)
	if len(end) == 1 && end[0] == 0 {
		return start, v3.GetPrefixRangeEnd(lkv.pfx)
	}
	return start, lkv.pfx + string(end)
}

// clearRange gives up our leases in [lkStart, lkEnd), deletes the leasing
// keys left over from our retired lease, and revokes the others'.
func (lkv *leasingKV) clearRange(ctx context.Context, lkStart, lkEnd string) error {
	resp, err := lkv.kv.Get(ctx, lkStart, v3.WithRange(lkEnd))
	if err != nil {
		return err
	}
	lease, retired := lkv.currentLease(), lkv.retiredLease()
	for _, lk := range resp.Kvs {
		switch owner := v3.LeaseID(lk.Lease); {
		case lease != v3.NoLease && owner == lease && string(lk.Value) != revokeValue:
			lkv.giveUp(string(lk.Key[len(lkv.pfx):]), 0)
			err = lkv.dropLeasingKey(ctx, lk)
		case retired != v3.NoLease && owner == retired:
			err = lkv.dropLeasingKey(ctx, lk)
		default:
			err = lkv.revokeAndWait(ctx, lk, resp.Header.Revision)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// commit runs a transaction. One whose comparisons and chosen branch
// only read cached keys is answered from the cache, as by the official
// leasing KV. One that writes is nested inside a transaction whose guards
// check that we hold, or nobody holds, the lease of every key it may
// write, and which reads back the keys we hold so that the cache takes
// their new states; the caller sees the nested transaction's outcome.
func (lkv *leasingKV) commit(ctx context.Context, cmps []v3.Cmp, thenOps, elseOps []v3.Op) (*v3.TxnResponse, error) {
	if resp := lkv.txnFromCache(cmps, thenOps, elseOps); resp != nil {
		return resp, nil
	}
	keys, ranges := writesOf(append(append([]v3.Op(nil), thenOps...), elseOps...))
	if len(keys) == 0 && len(ranges) == 0 {
		return lkv.kv.Txn(ctx).If(cmps...).Then(thenOps...).Else(elseOps...).Commit()
	}
	for {
		var guards []v3.Cmp
		for _, r := range ranges {
			start, end := lkv.leasingRange([]byte(r[0]), []byte(r[1]))
			if err := lkv.clearRange(ctx, start, end); err != nil {
				return nil, err
			}
			guards = append(guards, v3.Compare(v3.CreateRevision(start), "=", 0).WithRange(end))
		}
		owned := make([]int64, len(keys))
		lkGets := make([]v3.Op, len(keys))
		then := []v3.Op{v3.OpTxn(cmps, thenOps, elseOps)}
		var ws []written
		for i, k := range keys {
			lk := lkv.leasingKey(k)
			owned[i] = lkv.owned(k)
			guards = append(guards, v3.Compare(v3.CreateRevision(lk), "=", owned[i]))
			lkGets[i] = v3.OpGet(lk)
			if owned[i] != 0 {
				then = append(then, v3.OpGet(k))
				ws = append(ws, written{key: k, lkRev: owned[i]})
			}
		}
		doubts := lkv.doubtsNow()
		resp, err := lkv.kv.Txn(ctx).
			If(guards...).
			Then(then...).
			Else(lkGets...).
			Commit()
		if err != nil {
			lkv.doubt(keys...)
			return nil, err
		}
		if resp.Succeeded {
			for i := range ws {
				ws[i].read = resp.Responses[1+i]
			}
			lkv.afterWrite(ws, resp.Header, doubts)
			inner := resp.Responses[0].GetResponseTxn()
			return &v3.TxnResponse{Header: resp.Header, Succeeded: inner.Succeeded, Responses: inner.Responses}, nil
		}
		for i, k := range keys {
			lks := resp.Responses[i].GetResponseRange().GetKvs()
			if owned[i] != 0 && (len(lks) == 0 || lks[0].CreateRevision != owned[i]) {
				lkv.evict(k)
			}
			if len(lks) > 0 && lks[0].CreateRevision != owned[i] {
				if err := lkv.clear(ctx, lks, resp.Header.Revision); err != nil {
					return nil, err
				}
			}
		}
	}
}

// writesOf lists the single keys and the key ranges that ops may write,
// looking into nested transactions.
func writesOf(ops []v3.Op) (keys []string, ranges [][2]string) {
	seen := map[string]bool{}
	var walk func([]v3.Op)
	walk = func(ops []v3.Op) {
		for _, op := range ops {
			switch {
			case op.IsPut() || (op.IsDelete() && len(op.RangeBytes()) == 0):
				if k := string(op.KeyBytes()); !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			case op.IsDelete():
				ranges = append(ranges, [2]string{string(op.KeyBytes()), string(op.RangeBytes())})
			case op.IsTxn():
				_, t, e := op.Txn()
				walk(t)
				walk(e)
			}
		}
	}
	walk(ops)
	return keys, ranges
}
