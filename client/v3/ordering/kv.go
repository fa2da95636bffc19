package ordering

import (
	"context"
	"sync/atomic"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/txnbuild"
)

// OrderViolationFunc decides what happens when a read returns a revision
// older than prevRev, the newest revision seen before it was issued: nil
// to issue op again, or the error the read should fail with.
type OrderViolationFunc func(op clientv3.Op, resp clientv3.OpResponse, prevRev int64) error

type kvOrdering struct {
	clientv3.KV
	violation OrderViolationFunc
	prevRev   atomic.Int64
}

// NewKV returns kv wrapped to detect reads that return an older revision
// than a previous response; orderViolationFunc decides what to do then.
func NewKV(kv clientv3.KV, orderViolationFunc OrderViolationFunc) clientv3.KV {
	return &kvOrdering{KV: kv, violation: orderViolationFunc}
}

// observe raises the newest revision seen to rev.
func (kv *kvOrdering) observe(rev int64) {
	for {
		cur := kv.prevRev.Load()
		if rev <= cur || kv.prevRev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// read runs a read-only op until its response is not older than the
// newest revision seen when it was issued, or the violation function
// gives up.
func (kv *kvOrdering) read(op clientv3.Op, do func() (clientv3.OpResponse, int64, error)) (clientv3.OpResponse, error) {
	for {
		prev := kv.prevRev.Load()
		resp, rev, err := do()
		if err != nil {
			return clientv3.OpResponse{}, err
		}
		if rev >= prev {
			kv.observe(rev)
			return resp, nil
		}
		if kv.violation == nil {
			return clientv3.OpResponse{}, ErrNoGreaterRev
		}
		if err := kv.violation(op, resp, prev); err != nil {
			return clientv3.OpResponse{}, err
		}
	}
}

func (kv *kvOrdering) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	op := clientv3.OpGet(key, opts...)
	resp, err := kv.read(op, func() (clientv3.OpResponse, int64, error) {
		r, err := kv.KV.Get(ctx, key, opts...)
		if err != nil {
			return clientv3.OpResponse{}, 0, err
		}
		return r.OpResponse(), r.Header.GetRevision(), nil
	})
	if err != nil {
		return nil, err
	}
	return resp.Get(), nil
}

func (kv *kvOrdering) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	resp, err := kv.KV.Put(ctx, key, val, opts...)
	if err == nil {
		kv.observe(resp.Header.GetRevision())
	}
	return resp, err
}

func (kv *kvOrdering) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	resp, err := kv.KV.Delete(ctx, key, opts...)
	if err == nil {
		kv.observe(resp.Header.GetRevision())
	}
	return resp, err
}

func (kv *kvOrdering) Do(ctx context.Context, op clientv3.Op) (clientv3.OpResponse, error) {
	if !readOnly(op) {
		resp, err := kv.KV.Do(ctx, op)
		if err == nil {
			kv.observe(revisionOf(resp))
		}
		return resp, err
	}
	return kv.read(op, func() (clientv3.OpResponse, int64, error) {
		resp, err := kv.KV.Do(ctx, op)
		if err != nil {
			return clientv3.OpResponse{}, 0, err
		}
		return resp, revisionOf(resp), nil
	})
}

func (kv *kvOrdering) Txn(ctx context.Context) clientv3.Txn {
	return txnbuild.New(func(cmps []clientv3.Cmp, thenOps, elseOps []clientv3.Op) (*clientv3.TxnResponse, error) {
		resp, err := kv.Do(ctx, clientv3.OpTxn(cmps, thenOps, elseOps))
		if err != nil {
			return nil, err
		}
		return resp.Txn(), nil
	})
}

// readOnly reports whether op cannot change the store, so that issuing it
// again is harmless.
func readOnly(op clientv3.Op) bool {
	switch {
	case op.IsGet():
		return true
	case op.IsTxn():
		_, thenOps, elseOps := op.Txn()
		for _, ops := range [][]clientv3.Op{thenOps, elseOps} {
			for _, o := range ops {
				if !readOnly(o) {
					return false
				}
			}
		}
		return true
	}
	return false
}

func revisionOf(resp clientv3.OpResponse) int64 {
	switch {
	case resp.Get() != nil:
		return resp.Get().Header.GetRevision()
	case resp.Put() != nil:
		return resp.Put().Header.GetRevision()
	case resp.Del() != nil:
		return resp.Del().Header.GetRevision()
	case resp.Txn() != nil:
		return resp.Txn().Header.GetRevision()
	}
	return 0
}
