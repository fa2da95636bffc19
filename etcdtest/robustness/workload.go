package robustness

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"time"
)

// opTimeout bounds each request of a worker: long enough to ride out a
// leader election, short enough that a hung request counts as a failure.
const opTimeout = 5 * time.Second

// A kvWorker issues a random mix of key-value and lease requests on a small
// set of keys shared with the other workers, so that they contend.
type kvWorker struct {
	id   int
	cli  Client
	rec  *recorder
	rng  *rand.Rand
	keys []string
	seq  int
	// seen is the last value and revision this worker saw of each key,
	// the basis of its transactions' comparisons.
	seen   map[string]Result
	leases []workerLease
	kept   *keptLeases
	// onResult, if set, sees every successful result.
	onResult func(Result)
}

type workerLease struct {
	key   string
	lease int64
}

func (w *kvWorker) run(ctx context.Context) {
	for ctx.Err() == nil {
		w.step(ctx)
		sleep(ctx, time.Duration(w.rng.Intn(20))*time.Millisecond)
	}
}

func (w *kvWorker) step(ctx context.Context) {
	key := w.keys[w.rng.Intn(len(w.keys))]
	switch p := w.rng.Intn(100); {
	case p < 30:
		w.do(ctx, Request{Kind: Get, Key: key})
	case p < 40:
		w.do(ctx, Request{Kind: Get, Key: key, Serializable: true})
	case p < 60:
		w.do(ctx, Request{Kind: Put, Key: key, Value: w.value()})
	case p < 67:
		w.putWithLease(ctx, key)
	case p < 75:
		w.do(ctx, Request{Kind: Delete, Key: key})
	case p < 93:
		w.do(ctx, w.txn(key))
	default:
		w.revoke(ctx)
	}
}

// value returns a value no other write of the run writes, so that a read
// names the write it saw.
func (w *kvWorker) value() string {
	w.seq++
	return fmt.Sprintf("w%d-%d", w.id, w.seq)
}

func (w *kvWorker) txn(key string) Request {
	req := Request{Kind: Txn, Key: key, Value: w.value()}
	last := w.seen[key]
	if w.rng.Intn(3) == 0 && last.Found {
		req.CompareValue, req.Expect = true, last.Value
	} else if last.Found {
		req.ExpectRev = last.ModRev
	}
	return req
}

// putWithLease grants a lease for one put of key: kept alive by the client
// until the run ends or the worker revokes it, or, half of the time, left to
// expire after a few seconds.
func (w *kvWorker) putWithLease(ctx context.Context, key string) {
	expiring := w.rng.Intn(2) == 0
	ttl := int64(10)
	if expiring {
		ttl = 3
	}
	g, ok := w.do(ctx, Request{Kind: Grant, TTL: ttl})
	if !ok {
		return
	}
	if !expiring && !w.kept.start(w.cli, g.LeaseID) {
		expiring = true
	}
	w.leases = append(w.leases, workerLease{key: key, lease: g.LeaseID})
	w.do(ctx, Request{Kind: Put, Key: key, Value: w.value(), Lease: g.LeaseID, Expiring: expiring})
}

func (w *kvWorker) revoke(ctx context.Context) {
	if len(w.leases) == 0 {
		return
	}
	i := w.rng.Intn(len(w.leases))
	l := w.leases[i]
	w.leases = append(w.leases[:i], w.leases[i+1:]...)
	w.kept.stop(l.lease)
	w.do(ctx, Request{Kind: Revoke, Key: l.key, Lease: l.lease})
}

// do performs req, records it, and reports whether it succeeded.
func (w *kvWorker) do(ctx context.Context, req Request) (Result, bool) {
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	call := w.rec.now()
	res, err := w.cli.Do(opCtx, req)
	ret := w.rec.now()
	cancel()
	if ctx.Err() != nil && err != nil && req.Kind == Get {
		return res, false // the run ended it; not a failure of the client
	}
	op := Operation{Worker: w.id, Call: call, Return: ret, Req: req, Res: res}
	if err != nil {
		op.Err = err.Error()
		op.Unknown = req.Kind != Get && req.Kind != Grant && !errors.Is(err, ErrNotApplied)
	}
	w.rec.op(op)
	if err == nil && (req.Kind == Get || (req.Kind == Txn && !res.Succeeded)) {
		w.seen[req.Key] = res
	}
	if err == nil && w.onResult != nil {
		w.onResult(res)
	}
	return res, err == nil
}

// keptLeases keeps leases alive through the client under test and records
// those whose keep-alive ended before the run let them go.
type keptLeases struct {
	// ctx bounds every keep-alive: it ends after the run's final reads, so
	// that no kept lease expires before them.
	ctx context.Context
	rec *recorder
	mu  sync.Mutex
	// stops holds, for each lease kept alive, what ends its keep-alive.
	stops map[int64]context.CancelFunc
	// stopped holds every lease whose keep-alive stopped before the end of
	// the run, lost or let go: from then on it may expire.
	stopped map[int64]bool
	wg      sync.WaitGroup
}

func newKeptLeases(ctx context.Context, rec *recorder) *keptLeases {
	return &keptLeases{ctx: ctx, rec: rec, stops: map[int64]context.CancelFunc{}, stopped: map[int64]bool{}}
}

func (k *keptLeases) start(cli Client, id int64) bool {
	kctx, cancel := context.WithCancel(k.ctx)
	done, err := cli.KeepAlive(kctx, id)
	if err != nil {
		cancel()
		return false
	}
	k.mu.Lock()
	k.stops[id] = cancel
	k.mu.Unlock()
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		<-done
		if kctx.Err() == nil {
			k.rec.keepAliveLost(id)
			k.mu.Lock()
			k.stopped[id] = true
			k.mu.Unlock()
		}
	}()
	return true
}

// stop lets lease id go: it is about to be revoked.
func (k *keptLeases) stop(id int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cancel, ok := k.stops[id]; ok {
		cancel()
		delete(k.stops, id)
	}
	k.stopped[id] = true
}

// wait waits for every keep-alive to end (the run's context is done) and
// returns the leases that were not kept alive to the end.
func (k *keptLeases) wait() map[int64]bool {
	k.wg.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stopped
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
