package clientv3

import (
	"context"
	"sync"

	"github.com/a74b11dd/etcdkit/client/v3/internal/txnorder"
)

// Txn is a transaction under construction:
//
//	Txn(ctx).If(
//		Compare(Value(k1), ">", v1),
//		Compare(Version(k1), "=", 2),
//	).Then(
//		OpPut(k2, v2), OpPut(k3, v3),
//	).Else(
//		OpPut(k4, v4), OpPut(k5, v5),
//	).Commit()
//
// If, Then and Else may each be called once, in that order; calling them
// otherwise makes Commit fail.
type Txn interface {
	// If adds the conditions; when all hold, the Then operations run,
	// otherwise the Else operations.
	If(cs ...Cmp) Txn

	// Then adds the operations to run when the conditions hold.
	Then(ops ...Op) Txn

	// Else adds the operations to run when a condition fails.
	Else(ops ...Op) Txn

	// Commit sends the transaction.
	Commit() (*TxnResponse, error)
}

// txn is safe for concurrent use, as the official one is, though a
// transaction is built by one goroutine in any sensible program.
type txn struct {
	kv  *kv
	ctx context.Context

	mu    sync.Mutex
	order txnorder.Order
	op    Op
}

func (t *txn) If(cs ...Cmp) Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.order.If()
	// Keep copies, as the official client does: a caller may change a
	// comparison through GetCompare after handing it over.
	for i := range cs {
		t.op.cmps = append(t.op.cmps, cs[i].copyMessage())
	}
	return t
}

func (t *txn) Then(ops ...Op) Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.order.Then()
	for i := range ops {
		t.op.thenOps = append(t.op.thenOps, ops[i].snapshot())
	}
	return t
}

func (t *txn) Else(ops ...Op) Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.order.Else()
	for i := range ops {
		t.op.elseOps = append(t.op.elseOps, ops[i].snapshot())
	}
	return t
}

func (t *txn) Commit() (*TxnResponse, error) {
	t.mu.Lock()
	err, op := t.order.Err(), t.op
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	op.t = tTxn
	r, err := t.kv.Do(t.ctx, op)
	return r.txn, err
}
