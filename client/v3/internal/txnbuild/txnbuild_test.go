package txnbuild_test

import (
	"fmt"
	"strings"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/txnbuild"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build makes the calls named in seq ("If", "Then" or "Else") on a Txn
// from New, each with one comparison or operation naming the call's
// position, and commits it. It returns what the commit function was
// handed, "" if it was not called, and Commit's error.
func build(seq []string) (string, error) {
	var handed string
	commit := func(cmps []clientv3.Cmp, thenOps, elseOps []clientv3.Op) (*clientv3.TxnResponse, error) {
		var cs, ts, es []string
		for _, c := range cmps {
			cs = append(cs, string(c.KeyBytes()))
		}
		for _, op := range thenOps {
			ts = append(ts, string(op.KeyBytes()))
		}
		for _, op := range elseOps {
			es = append(es, string(op.KeyBytes()))
		}
		handed = fmt.Sprintf("if %v then %v else %v", cs, ts, es)
		return &clientv3.TxnResponse{}, nil
	}
	txn := txnbuild.New(commit)
	for i, call := range seq {
		key := fmt.Sprint(i)
		switch call {
		case "If":
			txn = txn.If(clientv3.Compare(clientv3.Version(key), "=", 0))
		case "Then":
			txn = txn.Then(clientv3.OpGet(key))
		case "Else":
			txn = txn.Else(clientv3.OpGet(key))
		}
	}
	_, err := txn.Commit()
	return handed, err
}

func TestIfThenElseCalledOnceEachInOrderAreHandedOverWhole(t *testing.T) {
	for _, c := range []struct {
		seq  string
		want string
	}{
		{"", "if [] then [] else []"},
		{"If Then Else", "if [0] then [1] else [2]"},
		{"If Else", "if [0] then [] else [1]"},
		{"Then Else", "if [] then [0] else [1]"},
		{"Else", "if [] then [] else [0]"},
	} {
		handed, err := build(strings.Fields(c.seq))
		if err != nil || handed != c.want {
			t.Errorf("%q: Commit = %v, commit function handed %q; want no error and %q", c.seq, err, handed, c.want)
		}
	}
}

func TestMisusedIfThenElseFailCommitWithTheClientsErrorAndSendNothing(t *testing.T) {
	// The client's own Txn gives these errors, for the first misuse, in
	// this order of checks; the official client panics instead.
	for _, c := range []struct {
		seq  string
		want string
	}{
		{"If If", "etcdclient: cannot call If twice"},
		{"Then If", "etcdclient: cannot call If after Then"},
		{"Else If", "etcdclient: cannot call If after Else"},
		{"Then Else If", "etcdclient: cannot call If after Then"},
		{"If Then If", "etcdclient: cannot call If twice"},
		{"Then Then", "etcdclient: cannot call Then twice"},
		{"Else Then", "etcdclient: cannot call Then after Else"},
		{"Then Else Then", "etcdclient: cannot call Then twice"},
		{"Else Else", "etcdclient: cannot call Else twice"},
		{"Then Then Else Else", "etcdclient: cannot call Then twice"},
		{"If Then Else Else If", "etcdclient: cannot call Else twice"},
	} {
		handed, err := build(strings.Fields(c.seq))
		if err == nil || err.Error() != c.want {
			t.Errorf("%q: Commit error = %v; want %q, as from the client's own Txn", c.seq, err, c.want)
		}
		if handed != "" {
			t.Errorf("%q: a misused Txn was handed to the commit function (%s); want nothing sent", c.seq, handed)
		}
	}
}
