package robustness

import (
	"sort"
	"sync"
	"time"
)

// An Operation is one request of the history: who made it, when it was
// called and when it returned, and what it returned.
type Operation struct {
	Worker int
	Call   time.Duration // since the run began
	Return time.Duration // since the run began
	Req    Request
	Res    Result
	// Err is the error the client returned, if any.
	Err string
	// Unknown is set when a write returned an error: it may have been
	// applied, at any time after Call.
	Unknown bool
}

// A WatchRecord is everything one watch delivered.
type WatchRecord struct {
	Worker    int
	Req       WatchRequest
	Opened    time.Duration
	Responses []WatchResponse
	// Closed is set when the channel was closed by the client, as opposed
	// to the run ending the watch.
	Closed bool
}

// A LockRecord is one holder of a lock or election.
type LockRecord struct {
	Worker   int
	Name     string
	Election bool
	Rev      int64         // the holder's revision
	Acquired time.Duration // when Lock returned
	Released time.Duration // when Unlock was called; 0 if never
	// LostAt is when the session's lease was seen lost while holding; 0 if
	// never.
	LostAt time.Duration
	// Writes are the fenced writes that were applied, by revision.
	Writes []int64
}

// A History is everything a run recorded.
type History struct {
	Ops     []Operation
	Watches []WatchRecord
	Locks   []LockRecord
	// KeepAlivesLost lists leases whose keep-alive ended before the run
	// stopped keeping them alive.
	KeepAlivesLost []int64
	// StartRev is the revision the key space was at when the run began.
	StartRev int64
	// Prefix is the prefix under which every key of the run lives.
	Prefix string
}

// A recorder collects a history from many goroutines.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	h     History
}

// newRecorder returns a recorder whose times count from start, the run's
// one clock: the subjects' histories and the faults share it.
func newRecorder(prefix string, start time.Time) *recorder {
	return &recorder{start: start, h: History{Prefix: prefix}}
}

func (r *recorder) now() time.Duration { return time.Since(r.start) }

// record changes the history under the recorder's lock.
func (r *recorder) record(f func(h *History)) {
	r.mu.Lock()
	f(&r.h)
	r.mu.Unlock()
}

func (r *recorder) op(o Operation) { r.record(func(h *History) { h.Ops = append(h.Ops, o) }) }

func (r *recorder) watch(w WatchRecord) {
	r.record(func(h *History) { h.Watches = append(h.Watches, w) })
}

func (r *recorder) lock(l LockRecord) { r.record(func(h *History) { h.Locks = append(h.Locks, l) }) }

func (r *recorder) keepAliveLost(id int64) {
	r.record(func(h *History) { h.KeepAlivesLost = append(h.KeepAlivesLost, id) })
}

// history returns the recorded history, operations in call order.
func (r *recorder) history() History {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.h
	sort.SliceStable(h.Ops, func(i, j int) bool { return h.Ops[i].Call < h.Ops[j].Call })
	return h
}
