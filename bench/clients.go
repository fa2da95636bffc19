package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Every workload is written once, against v3Client or v2Client; these small
// interfaces are what a workload needs from a client, nothing more. Each
// client under test (etcdkit, the official client, the raw gRPC stubs or raw
// HTTP) has one adapter. The etcdkit adapters are generated from the
// official ones (see adapters_test.go), so both clients are driven by the
// same source text: only the import path differs.

// v3Client is what the v3 workloads need. Counts are returned instead of
// responses so that the adapters do not allocate on behalf of the workload.
type v3Client interface {
	Put(ctx context.Context, key, val string) error
	// Get returns the number of keys in the response.
	Get(ctx context.Context, key string, serializable bool) (int, error)
	// GetPrefix returns the number of keys under prefix (a linearizable
	// range read).
	GetPrefix(ctx context.Context, prefix string) (int, error)
	// Delete returns the number of keys deleted.
	Delete(ctx context.Context, key string) (int64, error)
	// PutIfEqual is a transaction: if key's value is want, put val.
	PutIfEqual(ctx context.Context, key, want, val string) (bool, error)
	// Watch starts n watchers of prefix on one stream (one context, so the
	// clients share the stream) and returns once all are created. onEvents
	// is called with each response's number of events, from any goroutine,
	// or with an error when a watcher ends early. stop ends the watchers and
	// returns when their goroutines have.
	Watch(ctx context.Context, prefix string, n int, onEvents func(n int, err error)) (stop func(), err error)
	// Grant creates a lease.
	Grant(ctx context.Context, ttl int64) (int64, error)
	// KeepAlive keeps the leases alive, calling onResp for every keep-alive
	// response, until stop is called.
	KeepAlive(ctx context.Context, ids []int64, ttl int64, onResp func()) (stop func(), err error)

	// The scale workloads' (workloads_scale.go):

	// WatchEach starts one watcher per entry of keys, all on one stream as
	// in Watch: of that key, or with prefix of every key under it. onEvent
	// is called with every event's mod revision, from any goroutine, or
	// with an error when a watcher ends early. It returns once all are
	// created; stop ends them and returns when their goroutines have.
	WatchEach(ctx context.Context, keys []string, prefix bool, onEvent func(rev int64, err error)) (stop func(), err error)
	// GetPrefixStream reads every key under prefix with a streaming range
	// read (linearizable), and returns their number.
	GetPrefixStream(ctx context.Context, prefix string) (int, error)
	// GetPrefixPaged reads every key under prefix pageSize keys at a time,
	// every page at the revision of the first (linearizable), and returns
	// their number.
	GetPrefixPaged(ctx context.Context, prefix string, pageSize int64) (int, error)
	Close() error
}

// pagedReader is what a client with its own paged reader offers besides
// v3Client: etcdkit's, with its paging package (clients_etcdkit_paging.go).
// The scale workload reads pages with it where a client has one, and with
// the hand-written loop of GetPrefixPaged, the one a user of the official
// client would write, where not.
type pagedReader interface {
	RangePaged(ctx context.Context, prefix string, pageSize int64) (int, error)
}

// v2Client is what the v2 workloads need.
type v2Client interface {
	Set(ctx context.Context, key, val string) error
	// Get returns the number of nodes: 1 for a key, the number of children
	// for a directory read recursively.
	Get(ctx context.Context, key string, quorum, recursive bool) (int, error)
	// Watch returns a function that waits for the next event under prefix,
	// starting after index afterIndex.
	Watch(ctx context.Context, prefix string, afterIndex uint64) (next func(ctx context.Context) error, err error)
	Close() error
}

// Client names, in the order each round runs them.
const (
	clientEtcdkit  = "etcdkit"
	clientOfficial = "official"
	clientRaw      = "raw"
)

var clientOrder = []string{clientEtcdkit, clientOfficial, clientRaw}

// v3Clients and v2Clients create a client of each kind.
var v3Clients = map[string]func(ctx context.Context, endpoints []string) (v3Client, error){
	clientEtcdkit:  newEtcdkitV3,
	clientOfficial: newOfficialV3,
	clientRaw:      newRawV3,
}

var v2Clients = map[string]func(ctx context.Context, urls []string) (v2Client, error){
	clientEtcdkit:  newEtcdkitV2,
	clientOfficial: newOfficialV2,
	clientRaw:      newRawV2,
}

var errWatchClosed = errors.New("watch channel closed")

// runWatchers is the watch adapter shared by the client libraries, whose
// Watch returns a channel of responses (R). open starts watcher i on ctx;
// inspect reads a response (and may hand its events on itself, returning
// none to count). Every watcher asks for a created notification, so
// runWatchers can return only once the server has registered them all. The
// goroutine reading each watcher's channel is the harness's (see
// footprint.go).
func runWatchers[R any](ctx context.Context, n int, open func(ctx context.Context, i int) <-chan R,
	inspect func(*R) (created bool, events int, err error), onEvents func(int, error)) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	created := make(chan error, n)
	for i := range n {
		ch := open(ctx, i)
		wg.Add(1)
		goHarness(func() {
			defer wg.Done()
			first := true
			for {
				r, ok := <-ch
				if !ok {
					if first {
						created <- errWatchClosed
					} else if ctx.Err() == nil {
						onEvents(0, errWatchClosed)
					}
					return
				}
				isCreated, events, err := inspect(&r)
				if first {
					first = false
					if err == nil && !isCreated {
						err = fmt.Errorf("first watch response is not the created notification")
					}
					created <- err
					if err != nil {
						return
					}
					continue
				}
				if err != nil {
					if ctx.Err() == nil {
						onEvents(0, err)
					}
					return
				}
				if events > 0 {
					onEvents(events, nil)
				}
			}
		})
	}
	stop := func() { cancel(); wg.Wait() }
	for range n {
		select {
		case err := <-created:
			if err != nil {
				stop()
				return nil, fmt.Errorf("creating watcher: %w", err)
			}
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("creating watchers: %w", ctx.Err())
		}
	}
	return stop, nil
}

// runKeepAlives is the keep-alive adapter shared by the client libraries:
// one KeepAlive call per lease, and one goroutine per lease reading its
// channel, as a program holding many leases does (the harness's, in the
// goroutine count: see footprint.go).
func runKeepAlives[R any](ctx context.Context, ids []int64, open func(ctx context.Context, id int64) (<-chan R, error),
	onResp func()) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	for _, id := range ids {
		ch, err := open(ctx, id)
		if err != nil {
			stop()
			return nil, fmt.Errorf("keep-alive of lease %x: %w", id, err)
		}
		wg.Add(1)
		goHarness(func() {
			defer wg.Done()
			for range ch {
				onResp()
			}
		})
	}
	return stop, nil
}
