// Package txnorder checks the order of a transaction's If, Then and Else
// calls: each at most once, in that order. The client's Txn and the
// wrappers' Txns (txnbuild, ordering) all check with it, so that a misuse
// gets the same error from each (the official client panics there).
package txnorder

import "errors"

// Order records which of If, Then and Else were called, and the first
// misuse. Its zero value is a transaction with none called yet.
type Order struct {
	ifDone, thenDone, elseDone bool
	err                        error
}

// If records a call of If.
func (o *Order) If() {
	switch {
	case o.ifDone:
		o.fail("cannot call If twice")
	case o.thenDone:
		o.fail("cannot call If after Then")
	case o.elseDone:
		o.fail("cannot call If after Else")
	}
	o.ifDone = true
}

// Then records a call of Then.
func (o *Order) Then() {
	switch {
	case o.thenDone:
		o.fail("cannot call Then twice")
	case o.elseDone:
		o.fail("cannot call Then after Else")
	}
	o.thenDone = true
}

// Else records a call of Else.
func (o *Order) Else() {
	if o.elseDone {
		o.fail("cannot call Else twice")
	}
	o.elseDone = true
}

// Err returns the first misuse, or nil; Commit fails with it.
func (o *Order) Err() error { return o.err }

func (o *Order) fail(msg string) {
	if o.err == nil {
		o.err = errors.New("etcdclient: " + msg)
	}
}
