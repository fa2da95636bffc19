package robustness

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
)

// op builds a porcupine operation on key "k" from call to ret (ret < 0: the
// outcome is unknown).
func op(call, ret int64, req Request, res Result) porcupine.Operation {
	if req.Key == "" {
		req.Key = "k"
	}
	out := outcome{Res: res}
	if ret < 0 {
		ret, out.Unknown = math.MaxInt64, true
	}
	return porcupine.Operation{Input: req, Output: out, Call: call, Return: ret}
}

func TestModelVerdicts(t *testing.T) {
	put := func(v string) Request { return Request{Kind: Put, Value: v} }
	get := Request{Kind: Get}
	found := func(v string, mod, rev int64) Result {
		return Result{Found: true, Value: v, ModRev: mod, Revision: rev}
	}
	cases := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"a read after a put sees it", []porcupine.Operation{
			op(0, 1, put("a"), Result{Revision: 11}),
			op(2, 3, get, found("a", 11, 11)),
		}, porcupine.Ok},
		{"a read after a put that sees the older state is stale", []porcupine.Operation{
			op(0, 1, put("a"), Result{Revision: 11}),
			op(2, 3, put("b"), Result{Revision: 12}),
			op(4, 5, get, found("a", 11, 12)),
		}, porcupine.Illegal},
		{"a read concurrent with a put may see either", []porcupine.Operation{
			op(0, 1, put("a"), Result{Revision: 11}),
			op(2, 5, put("b"), Result{Revision: 12}),
			op(3, 4, get, found("a", 11, 11)),
		}, porcupine.Ok},
		{"a read names the revision its write returned", []porcupine.Operation{
			op(0, 1, put("a"), Result{Revision: 11}),
			op(2, 3, get, found("a", 13, 13)),
		}, porcupine.Illegal},
		{"a put's revision is above the key's last change", []porcupine.Operation{
			op(0, 1, put("a"), Result{Revision: 11}),
			op(2, 3, put("b"), Result{Revision: 11}),
		}, porcupine.Illegal},
		{"a write of unknown outcome may show up later", []porcupine.Operation{
			op(0, -1, put("a"), Result{}),
			op(2, 3, get, Result{Revision: 10}),
			op(4, 5, get, found("a", 12, 12)),
		}, porcupine.Ok},
		{"a write of unknown outcome, once seen, stays", []porcupine.Operation{
			op(0, -1, put("a"), Result{}),
			op(4, 5, get, found("a", 12, 12)),
			op(6, 7, get, Result{Revision: 12}),
		}, porcupine.Illegal},
		{"a deleted key reads as missing", []porcupine.Operation{
			op(0, 1, put("a"), Result{Revision: 11}),
			op(2, 3, Request{Kind: Delete}, Result{Revision: 12, Deleted: 1}),
			op(4, 5, get, found("a", 11, 12)),
		}, porcupine.Illegal},
		{"a txn on the key's revision succeeds only when it matches", []porcupine.Operation{
			op(0, 1, put("a"), Result{Revision: 11}),
			op(2, 3, Request{Kind: Txn, ExpectRev: 10, Value: "b"}, Result{Revision: 12, Succeeded: true}),
		}, porcupine.Illegal},
		{"a failed txn reads the key", []porcupine.Operation{
			op(0, 1, put("a"), Result{Revision: 11}),
			op(2, 3, Request{Kind: Txn, CompareValue: true, Expect: "x", Value: "b"}, found("a", 11, 11)),
			op(4, 5, Request{Kind: Txn, CompareValue: true, Expect: "a", Value: "c"}, Result{Revision: 12, Succeeded: true}),
			op(6, 7, get, found("c", 12, 12)),
		}, porcupine.Ok},
		{"a key of a lease kept alive never vanishes", []porcupine.Operation{
			op(0, 1, Request{Kind: Put, Value: "a", Lease: 7}, Result{Revision: 11}),
			op(2, 3, get, Result{Revision: 11}),
		}, porcupine.Illegal},
		{"a key of an expiring lease may vanish", []porcupine.Operation{
			op(0, 1, Request{Kind: Put, Value: "a", Lease: 7, Expiring: true}, Result{Revision: 11}),
			op(2, 3, get, Result{Revision: 12}),
			op(4, 5, Request{Kind: Revoke, Lease: 7}, Result{LeaseNotFound: true}),
		}, porcupine.Ok},
		{"revoking a key's lease deletes the key", []porcupine.Operation{
			op(0, 1, Request{Kind: Put, Value: "a", Lease: 7}, Result{Revision: 11}),
			op(2, 3, Request{Kind: Revoke, Lease: 7}, Result{Revision: 12}),
			op(4, 5, get, found("a", 11, 12)),
		}, porcupine.Illegal},
		{"a live key's lease is never missing", []porcupine.Operation{
			op(0, 1, Request{Kind: Put, Value: "a", Lease: 7}, Result{Revision: 11}),
			op(2, 3, Request{Kind: Revoke, Lease: 7}, Result{LeaseNotFound: true}),
		}, porcupine.Illegal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := porcupine.CheckOperationsTimeout(kvModel(10), c.ops, 0); got != c.want {
				t.Errorf("verdict %s, want %s", got, c.want)
			}
		})
	}
}
