// Package txnbuild lets a KV wrapper offer Txn when it must see a
// transaction whole before sending it: the Txn it returns records If, Then
// and Else, and Commit hands everything recorded to the wrapper's commit
// function.
package txnbuild

import (
	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/txnorder"
)

// CommitFunc runs a recorded transaction.
type CommitFunc func(cmps []clientv3.Cmp, thenOps, elseOps []clientv3.Op) (*clientv3.TxnResponse, error)

// New returns a Txn that records its comparisons and operations, in the
// order given, and runs them with commit.
//
// If, Then and Else may each be called once, in that order, as with the
// client's own Txn; a wrapper's Txn must not accept what the client's
// rejects. Any other use makes Commit fail, without calling commit, with
// the error the client's Txn gives for the first misuse (the official
// client panics there).
func New(commit CommitFunc) clientv3.Txn { return &txn{commit: commit} }

type txn struct {
	commit  CommitFunc
	cmps    []clientv3.Cmp
	thenOps []clientv3.Op
	elseOps []clientv3.Op

	order txnorder.Order
}

func (t *txn) If(cs ...clientv3.Cmp) clientv3.Txn {
	t.order.If()
	t.cmps = append(t.cmps, cs...)
	return t
}

func (t *txn) Then(ops ...clientv3.Op) clientv3.Txn {
	t.order.Then()
	t.thenOps = append(t.thenOps, ops...)
	return t
}

func (t *txn) Else(ops ...clientv3.Op) clientv3.Txn {
	t.order.Else()
	t.elseOps = append(t.elseOps, ops...)
	return t
}

func (t *txn) Commit() (*clientv3.TxnResponse, error) {
	if err := t.order.Err(); err != nil {
		return nil, err
	}
	return t.commit(t.cmps, t.thenOps, t.elseOps)
}
