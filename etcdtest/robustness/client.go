package robustness

import (
	"context"
	"errors"
	"time"
)

// A Client is the client under test. Its methods are called concurrently by
// many workers. A write that returns an error may have been applied, then or
// later, and the checker treats it so, unless the error wraps ErrNotApplied:
// the adapter knows the server refused it (a lease that does not exist, say).
type Client interface {
	// Do performs one key-value or lease request.
	Do(ctx context.Context, req Request) (Result, error)
	// Watch opens a watch as described by req. The channel is closed when
	// ctx is done or the watch ends.
	Watch(ctx context.Context, req WatchRequest) <-chan WatchResponse
	// RequestProgress asks the watch streams of this client for a progress
	// notification.
	RequestProgress(ctx context.Context) error
	// KeepAlive keeps lease id alive until ctx is done. The returned channel
	// is closed when the keep-alive ends; if it ends before ctx is done, the
	// lease is no longer kept alive.
	KeepAlive(ctx context.Context, id int64) (<-chan struct{}, error)
	// Compact compacts the key space's history up to rev.
	Compact(ctx context.Context, rev int64) error
	// NewLocker starts a session with the given TTL (seconds) and returns a
	// lock holder on name: a concurrency.Mutex, or an Election when
	// election is set.
	NewLocker(ctx context.Context, name string, ttl int, election bool) (Locker, error)
	// Close closes the client.
	Close() error
}

// ErrNotApplied marks, wrapped by an adapter, an error that proves the write
// was not applied.
var ErrNotApplied = errors.New("robustness: refused by the server, not applied")

// A Locker is a concurrency.Mutex or Election on a session of its own.
type Locker interface {
	// Lock acquires the lock (or wins the election) and returns the
	// holder's revision: the create revision of the holder's key.
	Lock(ctx context.Context, value string) (rev int64, err error)
	// FencedPut puts key=value only while the holder's key still exists
	// with the revision Lock returned, and reports whether it did and the
	// revision of the write.
	FencedPut(ctx context.Context, key, value string) (applied bool, rev int64, err error)
	// Unlock releases the lock (or resigns).
	Unlock(ctx context.Context) error
	// Lost is closed when the session's lease is lost.
	Lost() <-chan struct{}
	// Close ends the session.
	Close() error
}

// Kind is the kind of a Request.
type Kind uint8

// The kinds of requests.
const (
	// Get reads Key, linearizably unless Serializable is set.
	Get Kind = iota + 1
	// Put writes Key=Value, attached to Lease when it is not zero.
	Put
	// Delete deletes Key.
	Delete
	// Txn compares Key's modification revision with ExpectRev (or, with
	// CompareValue, its value with Expect); then it puts Key=Value, or else
	// it gets Key.
	Txn
	// Grant grants a lease of TTL seconds.
	Grant
	// Revoke revokes Lease, which was attached to Key only.
	Revoke
)

func (k Kind) String() string {
	switch k {
	case Get:
		return "get"
	case Put:
		return "put"
	case Delete:
		return "delete"
	case Txn:
		return "txn"
	case Grant:
		return "grant"
	case Revoke:
		return "revoke"
	}
	return "unknown"
}

// A Request is one key-value or lease request.
type Request struct {
	Kind         Kind
	Key          string
	Value        string
	Lease        int64
	TTL          int64
	Serializable bool
	// CompareValue makes a Txn compare Key's value with Expect instead of
	// its modification revision with ExpectRev.
	CompareValue bool
	Expect       string
	ExpectRev    int64
	// Expiring marks a lease-bound Put whose lease nobody keeps alive: the
	// key may disappear at any time after.
	Expiring bool
}

// A Result is what a request returned.
type Result struct {
	// Revision is the response header's revision.
	Revision int64
	// Found, Value, ModRev, CreateRev and Version describe the key a Get
	// (or a failed Txn) read.
	Found     bool
	Value     string
	ModRev    int64
	CreateRev int64
	Version   int64
	// Deleted is the number of keys a Delete deleted.
	Deleted int64
	// Succeeded is whether a Txn's comparison held.
	Succeeded bool
	// LeaseID is the lease a Grant granted.
	LeaseID int64
	// LeaseNotFound is set by Revoke when the server answered that the
	// lease does not exist: a definite outcome, not an error.
	LeaseNotFound bool
}

// A WatchRequest describes a watch.
type WatchRequest struct {
	Key            string
	Prefix         bool
	Revision       int64 // 0: from now on
	ProgressNotify bool
}

// A WatchResponse is one response of a watch, as the client delivered it.
type WatchResponse struct {
	Events          []Event
	Revision        int64
	CompactRevision int64
	Progress        bool // a progress notification: no events
	Canceled        bool
	Err             string
	Time            time.Duration // since the run began; set by the recorder
}

// An Event is one watch event.
type Event struct {
	Delete    bool
	Key       string
	Value     string
	ModRev    int64
	CreateRev int64
	Version   int64
}
