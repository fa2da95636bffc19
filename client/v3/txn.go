package clientv3

import "context"

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
// If, Then and Else may each be called once, in that order.
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

	cmps    []Cmp
	thenOps []Op
	elseOps []Op
}

func (t *txn) If(cs ...Cmp) Txn              { t.cmps = append(t.cmps, cs...); return t }
func (t *txn) Then(ops ...Op) Txn            { t.thenOps = append(t.thenOps, ops...); return t }
func (t *txn) Else(ops ...Op) Txn            { t.elseOps = append(t.elseOps, ops...); return t }
func (t *txn) Commit() (*TxnResponse, error) { return nil, errNotImplemented }
