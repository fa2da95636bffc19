package ordering

import (
	"context"
	"errors"
	"sync"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
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

	mu                               sync.Mutex
	calledIf, calledThen, calledElse bool
	cmps                             []clientv3.Cmp
	thenOps, elseOps                 []clientv3.Op
	err                              error
}

// misuse remembers the first out-of-order call.
func (t *txnOrdering) misuse(msg string) {
	if t.err == nil {
		t.err = errors.New("etcdclient: " + msg)
	}
}

func (t *txnOrdering) If(cs ...clientv3.Cmp) clientv3.Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.calledIf:
		t.misuse("cannot call If twice")
	case t.calledThen:
		t.misuse("cannot call If after Then")
	case t.calledElse:
		t.misuse("cannot call If after Else")
	}
	t.calledIf = true
	// Kept as given and turned into an OpTxn only at Commit, as by the
	// official wrapper.
	t.cmps = cs
	t.inner.If(cs...)
	return t
}

func (t *txnOrdering) Then(ops ...clientv3.Op) clientv3.Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.calledThen:
		t.misuse("cannot call Then twice")
	case t.calledElse:
		t.misuse("cannot call Then after Else")
	}
	t.calledThen = true
	t.thenOps = ops
	t.inner.Then(ops...)
	return t
}

func (t *txnOrdering) Else(ops ...clientv3.Op) clientv3.Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calledElse {
		t.misuse("cannot call Else twice")
	}
	t.calledElse = true
	t.elseOps = ops
	t.inner.Else(ops...)
	return t
}

func (t *txnOrdering) Commit() (*clientv3.TxnResponse, error) {
	t.mu.Lock()
	err, op := t.err, clientv3.OpTxn(t.cmps, t.thenOps, t.elseOps)
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
