package robustness

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// byWorker gives o to worker, called at call (ms) and returned 1ms later.
func byWorker(worker int, call int, o Operation) Operation {
	o.Worker, o.Call, o.Return = worker, time.Duration(call)*time.Millisecond, time.Duration(call+1)*time.Millisecond
	return o
}

// serializableRead is a serializable get of key answered at header revision
// rev with value written at mod revision mod; value "" means not found.
func serializableRead(key, value string, mod, rev int64) Operation {
	o := linearizableRead(key, value, mod, rev)
	o.Req.Serializable = true
	return o
}

func linearizableRead(key, value string, mod, rev int64) Operation {
	res := Result{Revision: rev}
	if value != "" {
		res.Found, res.Value, res.ModRev = true, value, mod
	}
	return Operation{Req: Request{Kind: Get, Key: key}, Res: res}
}

func TestCheckSerializable(t *testing.T) {
	for _, c := range []struct {
		name string
		ops  []Operation
		want []string
		// detail, if set, is what the only violation must mention.
		detail string
	}{
		{
			name: "a stale read that never goes back for its worker is fine",
			ops: []Operation{
				byWorker(2, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, putOp("/p/a", "a2", 5)),
				byWorker(2, 2, serializableRead("/p/a", "a1", 3, 4)),
				byWorker(2, 3, serializableRead("/p/a", "a2", 5, 5)),
			},
		},
		{
			name: "reads of a key not found and of a write of unknown outcome are fine",
			ops: []Operation{
				byWorker(1, 0, unknownOutcome(putOp("/p/a", "a1", 0))),
				byWorker(1, 1, serializableRead("/p/a", "", 0, 2)),
				byWorker(1, 2, serializableRead("/p/a", "a1", 7, 8)),
			},
		},
		{
			name: "another worker's later write does not bind a worker's reads",
			ops: []Operation{
				byWorker(2, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, putOp("/p/a", "a2", 9)),
				byWorker(2, 2, serializableRead("/p/a", "a1", 3, 4)),
			},
		},
		{
			name: "a worker's failed request does not bind its reads",
			ops: []Operation{
				byWorker(1, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, Operation{Req: Request{Kind: Get, Key: "/p/a"}, Res: Result{Revision: 9}, Err: "context deadline exceeded"}),
				byWorker(1, 2, serializableRead("/p/a", "a1", 3, 4)),
			},
		},
		{
			name: "a read below the worker's own write breaks serializable/monotonic",
			ops: []Operation{
				byWorker(1, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, putOp("/p/b", "b1", 7)),
				byWorker(1, 2, serializableRead("/p/a", "a1", 3, 5)),
			},
			want:   []string{"serializable/monotonic"},
			detail: "after the worker's own write at revision 7",
		},
		{
			name: "a read below the worker's own delete breaks serializable/monotonic",
			ops: []Operation{
				byWorker(1, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, deleteOp("/p/b", 6)),
				byWorker(1, 2, serializableRead("/p/a", "a1", 3, 4)),
			},
			want: []string{"serializable/monotonic"},
		},
		{
			name: "a read below the worker's own linearizable read breaks serializable/monotonic",
			ops: []Operation{
				byWorker(2, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, linearizableRead("/p/a", "a1", 3, 8)),
				byWorker(1, 2, serializableRead("/p/a", "a1", 3, 5)),
			},
			want:   []string{"serializable/monotonic"},
			detail: "after the worker's own read at revision 8",
		},
		{
			name: "a read below the worker's earlier serializable read breaks serializable/monotonic",
			ops: []Operation{
				byWorker(2, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, serializableRead("/p/a", "a1", 3, 6)),
				byWorker(1, 2, serializableRead("/p/a", "a1", 3, 4)),
			},
			want: []string{"serializable/monotonic"},
		},
		{
			name: "a value no write wrote breaks serializable/matches-history",
			ops: []Operation{
				byWorker(1, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, serializableRead("/p/a", "ghost", 3, 4)),
			},
			want: []string{"serializable/matches-history"},
		},
		{
			name: "a value written to another key breaks serializable/matches-history",
			ops: []Operation{
				byWorker(1, 0, putOp("/p/b", "b1", 3)),
				byWorker(1, 1, serializableRead("/p/a", "b1", 3, 4)),
			},
			want: []string{"serializable/matches-history"},
		},
		{
			name: "a value of a write the server refused breaks serializable/matches-history",
			ops: []Operation{
				byWorker(2, 0, refused(leasePutOp("/p/a", "a1", 0, 7))),
				byWorker(1, 1, serializableRead("/p/a", "a1", 3, 4)),
			},
			want:   []string{"serializable/matches-history"},
			detail: "a write the server refused",
		},
		{
			name: "a value of a transaction that failed its comparison breaks serializable/matches-history",
			ops: []Operation{
				byWorker(2, 0, txnOp("/p/a", "a1", 3, false)),
				byWorker(1, 1, serializableRead("/p/a", "a1", 3, 4)),
			},
			want: []string{"serializable/matches-history"},
		},
		{
			name: "a value at another mod revision than its write's breaks serializable/matches-history",
			ops: []Operation{
				byWorker(2, 0, putOp("/p/a", "a1", 3)),
				byWorker(1, 1, serializableRead("/p/a", "a1", 2, 4)),
			},
			want: []string{"serializable/matches-history"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := checkSerializable(History{Prefix: "/p/", StartRev: 1, Ops: c.ops})
			if want := sortedCopy(c.want); !slices.Equal(brokenGuarantees(got), want) {
				t.Fatalf("checkSerializable broke %q, want %q; violations:\n%s", brokenGuarantees(got), want, listViolations(got))
			}
			if c.detail != "" && !strings.Contains(got[0].Detail, c.detail) {
				t.Errorf("violation %q does not mention %q", got[0], c.detail)
			}
		})
	}
}
