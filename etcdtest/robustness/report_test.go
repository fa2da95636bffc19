package robustness

import (
	"testing"
	"time"
)

func TestCountTakesTheFiguresOfTheWorkloadWindowOnly(t *testing.T) {
	s := func(x float64) time.Duration { return seconds(x) }
	h := History{Ops: []Operation{
		{Call: s(0.5), Return: s(1), Req: Request{Kind: Get}},                              // before the workload: not counted
		{Call: s(2), Return: s(3), Req: Request{Kind: Get}},                                // ok
		{Call: s(3), Return: s(8), Req: Request{Kind: Put}, Err: "timeout", Unknown: true}, // failed, unknown
		{Call: s(4), Return: s(9), Req: Request{Kind: Get}, Err: "timeout"},                // failed
		{Call: s(9), Return: s(9.5), Req: Request{Kind: Get}},                              // ok
		{Call: s(12), Return: s(12.1), Req: Request{Kind: Get}},                            // a final read: not counted
	}}
	var r Report
	r.count(h, workload{from: s(1.5), to: s(11)})
	if r.Ops != 4 || r.Failed != 2 || r.Unknown != 1 {
		t.Errorf("ops %d, failed %d, unknown %d; want 4, 2 and 1", r.Ops, r.Failed, r.Unknown)
	}
	// Nothing succeeded from 3 s to 9.5 s.
	if r.LongestStall != s(6.5) {
		t.Errorf("longest stall %v, want 6.5s", r.LongestStall)
	}
}
