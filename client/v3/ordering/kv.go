package ordering

import (
	"context"
	"sync/atomic"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// OrderViolationFunc decides what happens when a Get or Txn returns a
// revision older than prevRev, the newest revision seen when the call
// began: nil to issue op again, or the error the call should fail with.
type OrderViolationFunc func(op clientv3.Op, resp clientv3.OpResponse, prevRev int64) error

type kvOrdering struct {
	clientv3.KV
	violation OrderViolationFunc
	prevRev   atomic.Int64
}

// NewKV returns kv wrapped to detect a Get or Txn answered from an older
// revision than an earlier Get or Txn; orderViolationFunc decides what to
// do then. The other methods of kv are used unchanged.
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

// Get sends the read as an OpGet through the wrapped KV's Do, as the
// official wrapper does, so a wrapped KV sees the same calls.
func (kv *kvOrdering) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	resp, err := kv.ordered(ctx, clientv3.OpGet(key, opts...))
	if err != nil {
		return nil, err
	}
	return resp.Get(), nil
}

// GetStream is refused with the official wrapper's Unimplemented error:
// the wrapper does not check streamed reads.
func (kv *kvOrdering) GetStream(context.Context, string, ...clientv3.OpOption) (clientv3.GetStreamChan, error) {
	return nil, status.Error(codes.Unimplemented, "GetStream is not supported by kvOrdering")
}

func (kv *kvOrdering) Txn(ctx context.Context) clientv3.Txn {
	return &txnOrdering{kv: kv, inner: kv.KV.Txn(ctx), ctx: ctx}
}

// ordered runs op until its response is not older than the newest
// revision seen when the call began, or the violation function gives up.
// The revision compared against is taken once, so that concurrent calls
// raising it while op is retried do not change what op must reach, and
// the violation function is always told the same prevRev for one call.
// An op that may write has been applied once it answers, so it is never
// issued again: doing so would apply it twice.
func (kv *kvOrdering) ordered(ctx context.Context, op clientv3.Op) (clientv3.OpResponse, error) {
	prev := kv.prevRev.Load()
	for {
		resp, err := kv.KV.Do(ctx, op)
		if err != nil {
			return clientv3.OpResponse{}, err
		}
		rev := revisionOf(resp)
		if rev >= prev {
			kv.observe(rev)
			return resp, nil
		}
		if kv.violation == nil {
			// The official wrapper would call the nil function and
			// panic; refuse the stale response instead.
			return clientv3.OpResponse{}, ErrNoGreaterRev
		}
		if err := kv.violation(op, resp, prev); err != nil {
			return clientv3.OpResponse{}, err
		}
		if !readOnly(op) {
			return resp, nil
		}
	}
}

// readOnly reports whether op cannot change the store, so that issuing it
// again is harmless. A transaction counts as writing if either branch
// holds a write, as the server counts it.
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

// revisionOf returns the store revision in the header of resp, whichever
// kind of response it is.
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
