package ordering

import (
	"context"
	"sync"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/txnorder"
)

// txnOrdering records a transaction and commits it as one OpTxn checked
// like a Get. If, Then and Else are also handed to the wrapped KV's Txn,
// as the official wrapper hands them, so a wrapped KV sees the same calls;
// that Txn is never committed.
//
// The official wrapper relies on the wrapped Txn to panic when If, Then
// or Else is called twice or out of order. This one remembers the first
// such misuse and fails Commit with it, in the words of the base client's
// Txn, without sending anything.
type txnOrdering struct {
	kv    *kvOrdering
	inner clientv3.Txn
	ctx   context.Context

	mu               sync.Mutex
	order            txnorder.Order
	cmps             []clientv3.Cmp
	thenOps, elseOps []clientv3.Op
}

func (t *txnOrdering) If(cs ...clientv3.Cmp) clientv3.Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.order.If()
	// Kept as given and turned into an OpTxn only at Commit, as by the
	// official wrapper.
	t.cmps = cs
	t.inner.If(cs...)
	return t
}

func (t *txnOrdering) Then(ops ...clientv3.Op) clientv3.Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.order.Then()
	t.thenOps = ops
	t.inner.Then(ops...)
	return t
}

func (t *txnOrdering) Else(ops ...clientv3.Op) clientv3.Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.order.Else()
	t.elseOps = ops
	t.inner.Else(ops...)
	return t
}

func (t *txnOrdering) Commit() (*clientv3.TxnResponse, error) {
	t.mu.Lock()
	err, op := t.order.Err(), clientv3.OpTxn(t.cmps, t.thenOps, t.elseOps)
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	resp, err := t.kv.ordered(t.ctx, op)
	if err != nil {
		return nil, err
	}
	return resp.Txn(), nil
}
