package robustness

import "testing"

func TestCheckRevisionOrder(t *testing.T) {
	put := func(call, ret int64, key string, rev int64) Operation {
		return Operation{Call: seconds(float64(call)), Return: seconds(float64(ret)), Req: Request{Kind: Put, Key: key, Value: key}, Res: Result{Revision: rev}}
	}
	get := func(call, ret int64, key string, rev int64) Operation {
		return Operation{Call: seconds(float64(call)), Return: seconds(float64(ret)), Req: Request{Kind: Get, Key: key}, Res: Result{Revision: rev}}
	}
	for _, c := range []struct {
		name string
		ops  []Operation
		bad  bool
	}{
		{"revisions that grow with time", []Operation{put(1, 2, "a", 10), get(3, 4, "b", 10), put(5, 6, "b", 11)}, false},
		{"concurrent requests in either order", []Operation{put(1, 4, "a", 12), get(2, 3, "b", 11)}, false},
		{"a read of another key older than a write already returned", []Operation{put(1, 2, "b", 20), get(3, 4, "a", 15)}, true},
		{"a write numbered below a read already returned", []Operation{get(1, 2, "a", 30), put(3, 4, "a", 25)}, true},
		{"a write numbered as a revision already returned", []Operation{get(1, 2, "a", 30), put(3, 4, "b", 30)}, true},
		{"a serializable read may be stale", []Operation{put(1, 2, "b", 20), {Call: seconds(3), Return: seconds(4), Req: Request{Kind: Get, Key: "a", Serializable: true}, Res: Result{Revision: 15}}}, false},
		{"a write of unknown outcome says nothing", []Operation{put(1, 2, "b", 20), {Call: seconds(3), Return: seconds(4), Req: Request{Kind: Put, Key: "a"}, Err: "timeout", Unknown: true}}, false},
	} {
		vs := checkRevisionOrder(History{Ops: c.ops})
		if (len(vs) > 0) != c.bad {
			t.Errorf("%s: violations %v; want any: %v", c.name, vs, c.bad)
		}
	}
}
