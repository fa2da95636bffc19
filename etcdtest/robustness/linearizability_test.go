package robustness

import (
	"math"
	"testing"
)

// A full watch of the run tells what became of writes of unknown outcome:
// one it saw was applied at the revision it saw; one it did not see, when it
// saw every revision any request returned, never was.
func TestAFullWatchResolvesWritesOfUnknownOutcome(t *testing.T) {
	const prefix = "/r/kv/"
	h := History{Prefix: prefix, StartRev: 10, Ops: []Operation{
		{Worker: 0, Call: 1, Return: 2, Req: Request{Kind: Put, Key: prefix + "a", Value: "seen"}, Err: "timeout", Unknown: true},
		{Worker: 1, Call: 3, Return: 4, Req: Request{Kind: Put, Key: prefix + "a", Value: "unseen"}, Err: "timeout", Unknown: true},
		{Worker: 2, Call: 5, Return: 6, Req: Request{Kind: Get, Key: prefix + "a"}, Res: Result{Found: true, Value: "seen", ModRev: 11, Revision: 12}},
		{Worker: 2, Call: 7, Return: 8, Req: Request{Kind: Put, Key: prefix + "b", Value: "known"}, Res: Result{Revision: 12}},
	}, Watches: []WatchRecord{{
		Req: WatchRequest{Key: prefix, Prefix: true, Revision: 11},
		Responses: []WatchResponse{
			{Revision: 11, Events: []Event{{Key: prefix + "a", Value: "seen", ModRev: 11}}},
			{Revision: 12, Events: []Event{{Key: prefix + "b", Value: "known", ModRev: 12}}},
		},
	}}}
	ops, res := porcupineOps(h)
	if res.Patched != 1 || res.Dropped != 1 || res.Checked != 3 {
		t.Fatalf("patched %d, dropped %d, checked %d; want 1, 1 and 3", res.Patched, res.Dropped, res.Checked)
	}
	for _, o := range ops {
		req, out := o.Input.(Request), o.Output.(outcome)
		if req.Value == "seen" && (out.Unknown || out.Res.Revision != 11 || o.Return != math.MaxInt64) {
			t.Errorf("the write the watch saw: %+v returning at %d; want applied at revision 11, still pending to the end", out, o.Return)
		}
		if req.Value == "unseen" {
			t.Error("the write no complete watch saw is still checked; want it dropped as never applied")
		}
	}
	lin, err := checkLinearizable(h, 0, "")
	if err != nil || lin.Verdict != "Ok" {
		t.Errorf("verdict %s (%v); want Ok", lin.Verdict, err)
	}
}

// Without a watch that saw every revision, an unseen write stays pending.
func TestWithoutACompleteWatchAnUnseenWriteStaysUnknown(t *testing.T) {
	const prefix = "/r/kv/"
	h := History{Prefix: prefix, StartRev: 10, Ops: []Operation{
		{Call: 1, Return: 2, Req: Request{Kind: Put, Key: prefix + "a", Value: "unseen"}, Err: "timeout", Unknown: true},
		{Call: 3, Return: 4, Req: Request{Kind: Get, Key: prefix + "a"}, Res: Result{Found: true, Value: "unseen", ModRev: 11, Revision: 11}},
	}}
	_, res := porcupineOps(h)
	if res.Dropped != 0 || res.Checked != 2 {
		t.Fatalf("dropped %d, checked %d; want 0 and 2", res.Dropped, res.Checked)
	}
	if lin, _ := checkLinearizable(h, 0, ""); lin.Verdict != "Ok" {
		t.Errorf("verdict %s; want Ok: a pending write may be read", lin.Verdict)
	}
}
