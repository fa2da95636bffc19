package robustness

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func putEvent(key, value string, rev int64) Event { return Event{Key: key, Value: value, ModRev: rev} }

func deleteEvent(key string, rev int64) Event { return Event{Delete: true, Key: key, ModRev: rev} }

func delivered(events ...Event) WatchResponse { return WatchResponse{Events: events} }

func progressAt(rev int64) WatchResponse { return WatchResponse{Progress: true, Revision: rev} }

func compactedAt(rev int64) WatchResponse {
	return WatchResponse{Canceled: true, CompactRevision: rev}
}

func putOp(key, value string, rev int64) Operation {
	return Operation{Req: Request{Kind: Put, Key: key, Value: value}, Res: Result{Revision: rev}}
}

func txnOp(key, value string, rev int64, succeeded bool) Operation {
	return Operation{Req: Request{Kind: Txn, Key: key, Value: value}, Res: Result{Revision: rev, Succeeded: succeeded}}
}

func deleteOp(key string, rev int64) Operation {
	return Operation{Req: Request{Kind: Delete, Key: key}, Res: Result{Revision: rev, Deleted: 1}}
}

func leasePutOp(key, value string, rev, lease int64) Operation {
	o := putOp(key, value, rev)
	o.Req.Lease = lease
	return o
}

// refused makes o a write the server refused outright: certainly not
// applied.
func refused(o Operation) Operation {
	o.Res, o.Err, o.Unknown = Result{}, "etcdserver: requested lease not found", false
	return o
}

func unknownOutcome(o Operation) Operation {
	o.Res, o.Err, o.Unknown = Result{}, "context deadline exceeded", true
	return o
}

// cleanWatchHistory is a run whose watches all did right: each delivered
// every write on its keys once, in order, from where it started to where it
// showed complete. Revision 7 changes two keys, as a multi-key transaction
// would.
func cleanWatchHistory() History {
	return History{
		Prefix:   "/p/",
		StartRev: 1,
		Ops: []Operation{
			putOp("/p/a", "a1", 2),
			putOp("/p/b", "b1", 3),
			txnOp("/p/a", "a2", 4, true),
			deleteOp("/p/b", 5),
			putOp("/p/a", "a3", 6),
			putOp("/p/b", "b2", 7),
			putOp("/p/c", "c1", 7),
		},
		Watches: []WatchRecord{
			{Worker: 1, Req: WatchRequest{Key: "/p/", Prefix: true, Revision: 2, ProgressNotify: true}, Responses: []WatchResponse{
				delivered(putEvent("/p/a", "a1", 2)),
				delivered(putEvent("/p/b", "b1", 3), putEvent("/p/a", "a2", 4)),
				delivered(deleteEvent("/p/b", 5)),
				delivered(putEvent("/p/a", "a3", 6)),
				delivered(putEvent("/p/b", "b2", 7), putEvent("/p/c", "c1", 7)),
				progressAt(7),
			}},
			{Worker: 2, Req: WatchRequest{Key: "/p/a", Revision: 3}, Responses: []WatchResponse{
				delivered(putEvent("/p/a", "a2", 4)),
				delivered(putEvent("/p/a", "a3", 6)),
				progressAt(7),
			}},
			{Worker: 3, Req: WatchRequest{Key: "/p/", Prefix: true}, Responses: []WatchResponse{
				progressAt(3),
				delivered(putEvent("/p/a", "a2", 4)),
				delivered(deleteEvent("/p/b", 5)),
				delivered(putEvent("/p/a", "a3", 6), putEvent("/p/b", "b2", 7), putEvent("/p/c", "c1", 7)),
			}},
		},
	}
}

// A watchCase changes the clean history and lists the guarantees that the
// change breaks, once per violation expected.
type watchCase struct {
	name   string
	change func(h *History)
	want   []string
}

func runWatchCases(t *testing.T, cases []watchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := cleanWatchHistory()
			c.change(&h)
			got := checkWatches(h)
			if want := sortedCopy(c.want); !slices.Equal(brokenGuarantees(got), want) {
				t.Errorf("checkWatches broke %q, want %q; violations:\n%s", brokenGuarantees(got), want, listViolations(got))
			}
		})
	}
}

// brokenGuarantees returns the guarantee of each violation, sorted.
func brokenGuarantees(vs []Violation) []string {
	gs := []string{}
	for _, v := range vs {
		gs = append(gs, v.Guarantee)
	}
	return sortedCopy(gs)
}

func sortedCopy(s []string) []string {
	s = append([]string{}, s...)
	slices.Sort(s)
	return s
}

func listViolations(vs []Violation) string {
	if len(vs) == 0 {
		return "\t(none)"
	}
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\t%s\n", v)
	}
	return b.String()
}

func TestCheckWatchesDeliveryGuarantees(t *testing.T) {
	runWatchCases(t, []watchCase{
		{
			name:   "watches that delivered every write once and in order break nothing",
			change: func(*History) {},
		},
		{
			name: "an event delivered after one of a later revision breaks watch/ordered",
			change: func(h *History) {
				h.Watches[1].Responses = []WatchResponse{
					delivered(putEvent("/p/a", "a3", 6)), delivered(putEvent("/p/a", "a2", 4)), progressAt(7),
				}
			},
			want: []string{"watch/ordered"},
		},
		{
			name: "revisions going backwards within one response break watch/ordered",
			change: func(h *History) {
				h.Watches[1].Responses = []WatchResponse{
					delivered(putEvent("/p/a", "a3", 6), putEvent("/p/a", "a2", 4)), progressAt(7),
				}
			},
			want: []string{"watch/ordered"},
		},
		{
			name: "an event delivered again in a later response breaks watch/unique",
			change: func(h *History) {
				h.Watches[1].Responses = []WatchResponse{
					delivered(putEvent("/p/a", "a2", 4)), delivered(putEvent("/p/a", "a2", 4)),
					delivered(putEvent("/p/a", "a3", 6)), progressAt(7),
				}
			},
			want: []string{"watch/unique"},
		},
		{
			name: "an event delivered twice in one response breaks watch/unique",
			change: func(h *History) {
				h.Watches[1].Responses = []WatchResponse{
					delivered(putEvent("/p/a", "a2", 4), putEvent("/p/a", "a2", 4)),
					delivered(putEvent("/p/a", "a3", 6)), progressAt(7),
				}
			},
			want: []string{"watch/unique"},
		},
		{
			name: "the events of one revision split across two responses break watch/atomic",
			change: func(h *History) {
				h.Watches[0].Responses[4] = delivered(putEvent("/p/b", "b2", 7))
				h.Watches[0].Responses = slices.Insert(h.Watches[0].Responses, 5, delivered(putEvent("/p/c", "c1", 7)))
			},
			want: []string{"watch/atomic"},
		},
		{
			name: "two watches delivering different values for one key and revision break watch/consistent",
			change: func(h *History) {
				h.Watches[2].Responses[1] = delivered(putEvent("/p/a", "other", 4))
			},
			want: []string{"watch/consistent"},
		},
		{
			name: "a watch delivering a delete where another delivered a put breaks watch/consistent",
			change: func(h *History) {
				h.Watches[1].Responses[0] = delivered(deleteEvent("/p/a", 4))
			},
			want: []string{"watch/consistent"},
		},
	})
}

func TestCheckWatchesReliableAndResumable(t *testing.T) {
	runWatchCases(t, []watchCase{
		{
			name: "a watch missing an event other watches delivered breaks watch/reliable",
			change: func(h *History) {
				h.Watches[0].Responses[1] = delivered(putEvent("/p/b", "b1", 3))
			},
			want: []string{"watch/reliable"},
		},
		{
			name: "a watch missing a write that no watch delivered breaks watch/reliable",
			change: func(h *History) {
				h.Watches[0].Responses[1] = delivered(putEvent("/p/a", "a2", 4))
			},
			want: []string{"watch/reliable"},
		},
		{
			name: "a progress notification past a missing event breaks watch/reliable",
			change: func(h *History) {
				h.Watches[1].Responses = []WatchResponse{delivered(putEvent("/p/a", "a2", 4)), progressAt(7)}
			},
			want: []string{"watch/reliable"},
		},
		{
			name: "a watch owes nothing beyond the last revision it showed complete",
			change: func(h *History) {
				h.Watches[1].Responses = []WatchResponse{delivered(putEvent("/p/a", "a2", 4))}
			},
		},
		{
			name: "a watch from now on owes nothing before its first event",
			change: func(h *History) {
				h.Watches[2].Responses = h.Watches[2].Responses[2:]
			},
		},
		{
			name: "a watch from now on owes every event after its first progress notification",
			change: func(h *History) {
				h.Watches[2].Responses = slices.Delete(h.Watches[2].Responses, 1, 2)
			},
			want: []string{"watch/reliable"},
		},
		{
			name: "a prefix watch owes only the keys under its prefix",
			change: func(h *History) {
				h.Watches = append(h.Watches, WatchRecord{
					Worker: 4, Req: WatchRequest{Key: "/p/a", Prefix: true, Revision: 2},
					Responses: []WatchResponse{
						delivered(putEvent("/p/a", "a1", 2)), delivered(putEvent("/p/a", "a2", 4)),
						delivered(putEvent("/p/a", "a3", 6)), progressAt(7),
					},
				})
			},
		},
		{
			name: "an event on a key the watch did not ask for breaks watch/reliable",
			change: func(h *History) {
				h.Watches[1].Responses = slices.Insert(h.Watches[1].Responses, 2, delivered(putEvent("/p/c", "c1", 7)))
			},
			want: []string{"watch/reliable"},
		},
		{
			name: "an event before the revision the watch asked for breaks watch/reliable",
			change: func(h *History) {
				h.Watches[1].Responses = slices.Insert(h.Watches[1].Responses, 0, delivered(putEvent("/p/a", "a1", 2)))
			},
			want: []string{"watch/reliable"},
		},
		{
			name: "a watch from a past revision missing the events before its first one breaks watch/resumable",
			change: func(h *History) {
				h.Watches[1].Responses = h.Watches[1].Responses[1:]
			},
			want: []string{"watch/resumable"},
		},
		{
			name: "a watch from a past revision showing progress but no event breaks watch/resumable for each event",
			change: func(h *History) {
				h.Watches[1].Responses = []WatchResponse{progressAt(7)}
			},
			want: []string{"watch/resumable", "watch/resumable"},
		},
	})
}

func TestCheckWatchesBookmarkable(t *testing.T) {
	runWatchCases(t, []watchCase{
		{
			name: "progress notifications between events, at or past the last one, keep watch/bookmarkable",
			change: func(h *History) {
				r := h.Watches[0].Responses
				h.Watches[0].Responses = []WatchResponse{r[0], progressAt(2), r[1], r[2], progressAt(5), r[3], r[4], r[5]}
			},
		},
		{
			name: "a progress notification going back breaks watch/bookmarkable",
			change: func(h *History) {
				h.Watches[1].Responses = append(h.Watches[1].Responses, progressAt(6))
			},
			want: []string{"watch/bookmarkable"},
		},
		{
			name: "a progress notification below an event already delivered breaks watch/bookmarkable",
			change: func(h *History) {
				h.Watches[0].Responses = slices.Insert(h.Watches[0].Responses, 4, progressAt(5))
			},
			want: []string{"watch/bookmarkable"},
		},
		{
			name: "an event at or below a progress notification delivered after it breaks watch/bookmarkable",
			change: func(h *History) {
				h.Watches[0].Responses = slices.Insert(h.Watches[0].Responses, 3, progressAt(6))
			},
			want: []string{"watch/bookmarkable"},
		},
	})
}

func TestCheckWatchesMatchHistory(t *testing.T) {
	deleteAAt8 := func(h *History) {
		h.Watches[0].Responses = append(h.Watches[0].Responses, delivered(deleteEvent("/p/a", 8)), progressAt(8))
	}
	runWatchCases(t, []watchCase{
		{
			name: "a put of a value no operation wrote breaks watch/matches-history",
			change: func(h *History) {
				h.Watches[0].Responses = append(h.Watches[0].Responses, delivered(putEvent("/p/a", "ghost", 8)), progressAt(8))
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a put of a write of unknown outcome matches the history at any revision",
			change: func(h *History) {
				h.Ops[0] = unknownOutcome(h.Ops[0])
			},
		},
		{
			// Both watches of /p/a at revision 3 also miss the write where it
			// was applied: watch/reliable.
			name: "a put at another revision than its write's breaks watch/matches-history",
			change: func(h *History) {
				h.Ops[0].Res.Revision = 3
			},
			want: []string{"watch/matches-history", "watch/reliable", "watch/reliable"},
		},
		{
			name: "a put of a transaction that failed its comparison breaks watch/matches-history once",
			change: func(h *History) {
				h.Ops[2].Res.Succeeded = false
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a delete of a key nothing deleted breaks watch/matches-history",
			change: func(h *History) {
				deleteAAt8(h)
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a delete at another revision than the delete's breaks watch/matches-history",
			change: func(h *History) {
				h.Ops[3].Res.Revision = 8
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a delete of unknown outcome explains a delete event",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops = append(h.Ops, unknownOutcome(deleteOp("/p/a", 0)))
			},
		},
		{
			name: "a revoke of the key's lease explains a delete event",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops = append(h.Ops, Operation{Req: Request{Kind: Revoke, Key: "/p/a", Lease: 7}, Res: Result{Revision: 8}})
			},
		},
		{
			name: "a lease-bound put explains a delete event by the lease's expiry",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops[4].Req.Lease = 7
			},
		},
		{
			name: "a lease-bound put of the key after the delete does not explain it",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops = append(h.Ops, leasePutOp("/p/a", "late", 100, 7))
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a lease-bound put of the key overwritten by one bound to no lease does not explain a delete",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops[0].Req.Lease = 7
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a lease-bound put that only an operation shows applied explains a delete after the last event",
			change: func(h *History) {
				h.Watches[0].Responses = append(h.Watches[0].Responses, delivered(deleteEvent("/p/d", 9)), progressAt(9))
				h.Ops = append(h.Ops, leasePutOp("/p/d", "d1", 8, 7))
			},
			// Watch 0 showed revision 8 complete without delivering d1.
			want: []string{"watch/reliable"},
		},
		{
			name: "a put bound to no lease that only an operation shows applied after a lease-bound one leaves a delete unexplained",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops[4].Req.Lease = 7
				h.Ops = append(h.Ops, putOp("/p/a", "a4", 7))
			},
			// Every watch showed revision 7 complete without delivering a4.
			want: []string{"watch/matches-history", "watch/reliable", "watch/reliable", "watch/reliable"},
		},
		{
			name: "a lease-bound put of unknown outcome explains a delete of a key no watch saw put",
			change: func(h *History) {
				h.Watches[0].Responses = append(h.Watches[0].Responses, delivered(deleteEvent("/p/d", 8)), progressAt(8))
				h.Ops = append(h.Ops, unknownOutcome(leasePutOp("/p/d", "d1", 0, 7)))
			},
		},
		{
			name: "a put of unknown outcome bound to no lease does not explain a delete of a key no watch saw put",
			change: func(h *History) {
				h.Watches[0].Responses = append(h.Watches[0].Responses, delivered(deleteEvent("/p/d", 8)), progressAt(8))
				h.Ops = append(h.Ops, unknownOutcome(putOp("/p/d", "d1", 0)))
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a revoke of the key's lease at another revision does not explain a delete event",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops = append(h.Ops, Operation{Req: Request{Kind: Revoke, Key: "/p/a", Lease: 7}, Res: Result{Revision: 9}})
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a revoke of another key's lease does not explain a delete event",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops = append(h.Ops, Operation{Req: Request{Kind: Revoke, Key: "/p/b", Lease: 7}, Res: Result{Revision: 8}})
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a revoke of unknown outcome explains a delete event",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops = append(h.Ops, unknownOutcome(Operation{Req: Request{Kind: Revoke, Key: "/p/a", Lease: 7}}))
			},
		},
		{
			name: "a delete the server refused does not explain a delete event",
			change: func(h *History) {
				deleteAAt8(h)
				h.Ops = append(h.Ops, refused(deleteOp("/p/a", 0)))
			},
			want: []string{"watch/matches-history"},
		},
		{
			name: "a put of a write the server refused breaks watch/matches-history",
			change: func(h *History) {
				h.Ops[4] = refused(leasePutOp("/p/a", "a3", 0, 7))
			},
			want: []string{"watch/matches-history"},
		},
	})
}

func TestCheckWatchesNamesARefusedWrite(t *testing.T) {
	h := cleanWatchHistory()
	h.Ops[4] = refused(h.Ops[4])

	got := checkWatches(h)

	if len(got) != 1 || !strings.Contains(got[0].Detail, "a write the server refused") {
		t.Fatalf("checkWatches reported:\n%s\nwant one violation naming a write the server refused", listViolations(got))
	}
}

func TestCheckWatchesCompaction(t *testing.T) {
	watchA := func(resps ...WatchResponse) func(h *History) {
		return func(h *History) {
			h.Watches = append(h.Watches, WatchRecord{Worker: 4, Req: WatchRequest{Key: "/p/a", Revision: 3}, Responses: resps})
		}
	}
	runWatchCases(t, []watchCase{
		{
			name:   "a watch canceled for a compaction past the revision it asked for is fine",
			change: watchA(compactedAt(4)),
		},
		{
			name:   "a watch canceled for a compaction at the revision it asked for breaks watch/compaction",
			change: watchA(compactedAt(3)),
			want:   []string{"watch/compaction"},
		},
		{
			name:   "a watch canceled for a compaction past the revision after its last event is fine",
			change: watchA(delivered(putEvent("/p/a", "a2", 4)), compactedAt(6)),
		},
		{
			name:   "a watch canceled for a compaction at the revision after its last event breaks watch/compaction",
			change: watchA(delivered(putEvent("/p/a", "a2", 4)), compactedAt(5)),
			want:   []string{"watch/compaction"},
		},
		{
			name:   "a watch canceled for a compaction past the revision after its last progress notification is fine",
			change: watchA(delivered(putEvent("/p/a", "a2", 4)), progressAt(5), compactedAt(7)),
		},
		{
			name:   "a watch canceled for a compaction at the revision after its last progress notification breaks watch/compaction",
			change: watchA(delivered(putEvent("/p/a", "a2", 4)), progressAt(5), compactedAt(6)),
			want:   []string{"watch/compaction"},
		},
		{
			name: "a watch canceled for a compaction below a revision it showed complete, with no event, breaks watch/compaction",
			change: func(h *History) {
				h.Watches = append(h.Watches, WatchRecord{Worker: 4, Req: WatchRequest{Key: "/p/c", Revision: 3},
					Responses: []WatchResponse{progressAt(6), compactedAt(5)}})
			},
			want: []string{"watch/compaction"},
		},
	})
}

func TestCheckWatchesReportsAFewViolationsPerWatchAndGuarantee(t *testing.T) {
	h := History{Prefix: "/p/", StartRev: 1}
	var all []WatchResponse
	for rev := int64(2); rev < 2+watchReportLimit+3; rev++ {
		key, value := fmt.Sprintf("/p/k%d", rev), fmt.Sprintf("v%d", rev)
		h.Ops = append(h.Ops, putOp(key, value, rev))
		all = append(all, delivered(putEvent(key, value, rev)))
	}
	last := h.Ops[len(h.Ops)-1].Res.Revision
	h.Watches = []WatchRecord{
		{Req: WatchRequest{Key: "/p/", Prefix: true, Revision: 2}, Responses: all},
		{Req: WatchRequest{Key: "/p/", Prefix: true, Revision: 2}, Responses: []WatchResponse{progressAt(last)}},
	}

	got := checkWatches(h)

	if len(got) != watchReportLimit+1 {
		t.Fatalf("checkWatches reported %d violations, want %d shown and a count of the rest:\n%s",
			len(got), watchReportLimit+1, listViolations(got))
	}
	if rest := got[len(got)-1]; !strings.Contains(rest.Detail, "3 more") {
		t.Errorf("last violation is %q, want a count of the 3 not shown", rest)
	}
}

func TestCheckWatchesViolationsNameTheWatchAndTheRevisions(t *testing.T) {
	h := cleanWatchHistory()
	h.Watches[1].Responses = []WatchResponse{delivered(putEvent("/p/a", "a3", 6)), progressAt(7)}

	got := checkWatches(h)

	if len(got) != 1 {
		t.Fatalf("checkWatches reported %d violations, want 1:\n%s", len(got), listViolations(got))
	}
	for _, want := range []string{`watch 1 (worker 2, key "/p/a" from revision 3)`, `"/p/a"="a2" @4`, "[3, 7]"} {
		if !strings.Contains(got[0].Detail, want) {
			t.Errorf("violation %q does not mention %s", got[0], want)
		}
	}
}

// largeWatchHistory is a clean run of writes puts over keys keys, seen by
// prefixWatches watches of the whole prefix and keyWatches watches of one
// key each, all from the first revision.
func largeWatchHistory(writes, keys, prefixWatches, keyWatches int) History {
	h := History{Prefix: "/p/", StartRev: 1}
	var events []Event
	for i := range writes {
		rev := int64(i + 2)
		key, value := fmt.Sprintf("/p/k%d", i%keys), fmt.Sprintf("v%d", i)
		h.Ops = append(h.Ops, putOp(key, value, rev))
		events = append(events, putEvent(key, value, rev))
	}
	last := progressAt(int64(writes + 1))
	for range prefixWatches {
		var resps []WatchResponse
		for _, e := range events {
			resps = append(resps, delivered(e))
		}
		h.Watches = append(h.Watches, WatchRecord{Req: WatchRequest{Key: "/p/", Prefix: true, Revision: 2}, Responses: append(resps, last)})
	}
	for i := range keyWatches {
		key := fmt.Sprintf("/p/k%d", i%keys)
		var resps []WatchResponse
		for _, e := range events {
			if e.Key == key {
				resps = append(resps, delivered(e))
			}
		}
		h.Watches = append(h.Watches, WatchRecord{Req: WatchRequest{Key: key, Revision: 2}, Responses: append(resps, last)})
	}
	return h
}

func TestCheckWatchesAcceptsALargeCleanHistory(t *testing.T) {
	h := largeWatchHistory(2000, 50, 3, 10)
	if got := checkWatches(h); len(got) != 0 {
		t.Errorf("checkWatches reported violations of a clean history:\n%s", listViolations(got))
	}
}

func BenchmarkCheckWatches(b *testing.B) {
	h := largeWatchHistory(50000, 1000, 20, 80)
	b.ResetTimer()
	for range b.N {
		checkWatches(h)
	}
}
