package clientv3

import (
	"context"
	"errors"
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

type txn struct {
	kv  *kv
	ctx context.Context

	cif, cthen, celse bool
	op                Op
	err               error
}

func (t *txn) fail(msg string) {
	if t.err == nil {
		t.err = errors.New("etcdclient: " + msg)
	}
}

func (t *txn) If(cs ...Cmp) Txn {
	switch {
	case t.cif:
		t.fail("cannot call If twice")
	case t.cthen:
		t.fail("cannot call If after Then")
	case t.celse:
		t.fail("cannot call If after Else")
	}
	t.cif = true
	// Keep copies, as the official client does: a caller may change a
	// comparison through GetCompare after handing it over.
	for i := range cs {
		t.op.cmps = append(t.op.cmps, cs[i].Clone())
	}
	return t
}

func (t *txn) Then(ops ...Op) Txn {
	switch {
	case t.cthen:
		t.fail("cannot call Then twice")
	case t.celse:
		t.fail("cannot call Then after Else")
	}
	t.cthen = true
	t.op.thenOps = append(t.op.thenOps, ops...)
	return t
}

func (t *txn) Else(ops ...Op) Txn {
	if t.celse {
		t.fail("cannot call Else twice")
	}
	t.celse = true
	t.op.elseOps = append(t.op.elseOps, ops...)
	return t
}

func (t *txn) Commit() (*TxnResponse, error) {
	if t.err != nil {
		return nil, t.err
	}
	t.op.t = tTxn
	r, err := t.kv.Do(t.ctx, t.op)
	return r.txn, err
}
