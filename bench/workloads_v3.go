package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

const (
	valueSize = 128 // bytes per value written by put, txn and delete workloads
	keySpace  = 1000
	getKey    = "/bench/get/key"
	rangeDir  = "/bench/range/"
	// The sizes the workload names promise.
	rangeKeys  = 1000
	rangeValue = 256
	// A range whose reply exceeds grpc-go's default 4 MiB message limit.
	bigRangeDir   = "/bench/bigrange/"
	bigRangeKeys  = 5000
	bigRangeValue = 1024
	leases        = 1000
)

func v3Workloads() []workload {
	return []workload{
		{name: "put-c1", title: "put, 1 caller", unit: "op", v3: putWorkload(1)},
		{name: "put-c64", title: "put, 64 callers", unit: "op", v3: putWorkload(64)},
		{name: "get-c1", title: "get linearizable, 1 caller", unit: "op", prepare: seedGetKey, v3: getWorkload(1, false)},
		{name: "get-c64", title: "get linearizable, 64 callers", unit: "op", prepare: seedGetKey, v3: getWorkload(64, false)},
		{name: "get-ser-c1", title: "get serializable, 1 caller", unit: "op", prepare: seedGetKey, v3: getWorkload(1, true)},
		{name: "get-ser-c64", title: "get serializable, 64 callers", unit: "op", prepare: seedGetKey, v3: getWorkload(64, true)},
		{name: "txn-c64", title: "txn compare+put, 64 callers", unit: "op", v3: txnWorkload(64)},
		{name: "range-1000", title: "range 1,000 keys × 256 B", unit: "op", prepare: seedRange, v3: rangeWorkload(rangeDir, rangeKeys, 1)},
		{name: "range-5mib-c4", title: "range 5,000 keys × 1 KiB (5 MiB reply), 4 callers", unit: "op", prepare: seedBigRange, v3: rangeWorkload(bigRangeDir, bigRangeKeys, 4)},
		{name: "delete-c64", title: "delete, 64 callers", unit: "op", v3: deleteWorkload(64)},
		{name: "watch-1", title: "watch, 1 watcher", unit: "event", oneMember: true, v3: watchWorkload(1)},
		{name: "watch-100", title: "watch, 100 watchers on one stream", unit: "event", oneMember: true, v3: watchWorkload(100)},
		{name: "lease-grant-c64", title: "lease grant, 64 callers", unit: "op", v3: grantWorkload(64)},
		{name: "lease-keepalive-1000", title: "keep-alive of 1,000 leases (per second)", unit: "s", oneMember: true, v3: keepAliveWorkload},
	}
}

// keys returns n distinct keys under prefix, made before measuring so that
// building them is not charged to the client.
func keys(prefix string, n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = prefix + strconv.Itoa(i)
	}
	return ks
}

func value(n int) string { return strings.Repeat("x", n) }

type v3Run = func(ctx context.Context, e *env, c v3Client, p *phase) error

func putWorkload(workers int) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		ks := keys(e.keyPrefix(), keySpace)
		val := value(valueSize)
		return p.loop(ctx, e.cfg, workers, 0, func(ctx context.Context, _ int, i int64) error {
			return c.Put(ctx, ks[i%keySpace], val)
		})
	}
}

func seedGetKey(ctx context.Context, e *env) error {
	return e.setup3.Put(ctx, getKey, value(valueSize))
}

func getWorkload(workers int, serializable bool) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		return p.loop(ctx, e.cfg, workers, 0, func(ctx context.Context, _ int, _ int64) error {
			n, err := c.Get(ctx, getKey, serializable)
			if err == nil && n != 1 {
				err = fmt.Errorf("get returned %d keys, want 1", n)
			}
			return err
		})
	}
}

// txnWorkload gives every caller a key of its own, so every transaction's
// comparison holds and every transaction writes.
func txnWorkload(workers int) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		ks := keys(e.keyPrefix(), workers)
		val := value(valueSize)
		if err := seed(ctx, e.setup3, ks, val); err != nil {
			return err
		}
		return p.loop(ctx, e.cfg, workers, 0, func(ctx context.Context, w int, _ int64) error {
			ok, err := c.PutIfEqual(ctx, ks[w], val, val)
			if err == nil && !ok {
				err = fmt.Errorf("txn on %s: comparison failed", ks[w])
			}
			return err
		})
	}
}

func seedRange(ctx context.Context, e *env) error {
	return seed(ctx, e.setup3, keys(rangeDir, rangeKeys), value(rangeValue))
}

func seedBigRange(ctx context.Context, e *env) error {
	return seed(ctx, e.setup3, keys(bigRangeDir, bigRangeKeys), value(bigRangeValue))
}

func rangeWorkload(dir string, want, callers int) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		return p.loop(ctx, e.cfg, callers, 0, func(ctx context.Context, _ int, _ int64) error {
			n, err := c.GetPrefix(ctx, dir)
			if err == nil && n != want {
				err = fmt.Errorf("range of %s returned %d keys, want %d", dir, n, want)
			}
			return err
		})
	}
}

// deleteWorkload deletes keys seeded for this phase, each exactly once.
func deleteWorkload(workers int) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		ks := keys(e.keyPrefix(), e.cfg.deleteKeys)
		if err := seed(ctx, e.setup3, ks, value(valueSize)); err != nil {
			return err
		}
		return p.loop(ctx, e.cfg, workers, int64(len(ks)), func(ctx context.Context, _ int, i int64) error {
			n, err := c.Delete(ctx, ks[i])
			if err == nil && n != 1 {
				err = fmt.Errorf("delete of %s deleted %d keys, want 1", ks[i], n)
			}
			return err
		})
	}
}

// watchWorkload measures event delivery: watchers watch a prefix that a
// writer child process (see writer.go) writes to; the phase ends when every
// watcher has seen every write.
func watchWorkload(watchers int) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		puts := e.cfg.watchEvents
		if watchers > 1 {
			puts = e.cfg.fanoutPuts
		}
		if p.profiled() {
			puts *= 4
		}
		prefix := e.keyPrefix()
		want := int64(puts) * int64(watchers)
		var got atomic.Int64
		done := make(chan struct{})
		var once sync.Once
		var watchErr error
		finish := func(err error) { once.Do(func() { watchErr = err; close(done) }) }
		stop, err := c.Watch(ctx, prefix, watchers, func(n int, err error) {
			if err != nil {
				finish(err)
				return
			}
			if got.Add(int64(n)) >= want {
				finish(nil)
			}
		})
		if err != nil {
			return err
		}
		defer stop()
		w, err := startWriter(ctx, writerJob{Endpoints: e.endpoints, Prefix: prefix, N: puts, Workers: 64, ValueSize: valueSize})
		if err != nil {
			return err
		}
		if err := deliverWrites(ctx, p, w, done, &got, want, finish); err != nil {
			return err
		}
		if err := w.wait(); err != nil {
			return err
		}
		return watchErr
	}
}

func grantWorkload(workers int) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		ttl := e.cfg.leaseTTL
		return p.loop(ctx, e.cfg, workers, 0, func(ctx context.Context, _ int, _ int64) error {
			_, err := c.Grant(ctx, ttl)
			return err
		})
	}
}

// keepAliveWorkload measures what keeping many leases alive costs the
// client per second, in the steady state: the leases are granted beforehand
// (by the setup connection), the client starts keeping them alive, and the
// measurement begins once every lease has had its first keep-alive, so that
// how soon a client sends the first one does not weigh on the figure.
// keepAliveWindowOffset is how long after the first keep-alives the
// measured window opens.
const keepAliveWindowOffset = 250 * time.Millisecond

func keepAliveWorkload(ctx context.Context, e *env, c v3Client, p *phase) error {
	ids, err := grantLeases(ctx, e, leases, e.cfg.leaseTTL)
	if err != nil {
		return err
	}
	return keepAliveWindow(ctx, e, c, p, ids, e.cfg.leaseTTL, e.cfg.keepAlive, nil)
}

// grantLeases grants n leases with the setup connection. On an error, it
// returns the ids it granted so far along with it (0 for the leases it did
// not grant), for revokeLeases.
func grantLeases(ctx context.Context, e *env, n int, ttl int64) ([]int64, error) {
	ids := make([]int64, n)
	var idx atomic.Int64
	if err := parallel(ctx, 32, len(ids), func(ctx context.Context) error {
		i := idx.Add(1) - 1
		id, err := e.setup3.Grant(ctx, ttl)
		ids[i] = id
		return err
	}); err != nil {
		return ids, fmt.Errorf("granting: %w", err)
	}
	return ids, nil
}

// keepAliveWindow has c keep the leases ids alive and measures a window of
// the steady state (see keepAliveWorkload). atEnd, if set, runs after the
// window, while the leases are still kept alive.
func keepAliveWindow(ctx context.Context, e *env, c v3Client, p *phase, ids []int64, ttl int64,
	window time.Duration, atEnd func()) error {
	var resps atomic.Int64
	started := make(chan struct{})
	var once sync.Once
	stop, err := c.KeepAlive(ctx, ids, ttl, func() {
		if resps.Add(1) >= int64(len(ids)) {
			once.Do(func() { close(started) })
		}
	})
	if err != nil {
		return err
	}
	defer stop()
	select {
	case <-started:
	case <-ctx.Done():
		return fmt.Errorf("%d first keep-alive responses for %d leases: %w", resps.Load(), len(ids), ctx.Err())
	}
	// The first keep-alives went out together, so a client that batches
	// renewals sends its rounds a whole period after this moment: a window
	// opened now would close on a round, counted or not by a hair. Opening
	// it a little later keeps round edges away from window edges.
	select {
	case <-time.After(keepAliveWindowOffset):
	case <-ctx.Done():
		return ctx.Err()
	}
	if p.profiled() {
		window = max(window, 2*e.cfg.profilePhase)
	}
	before := resps.Load()
	p.start()
	t := time.NewTimer(window)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	p.pause()
	p.counted = float64(resps.Load() - before)
	p.stop(p.wall.Seconds())
	if atEnd != nil {
		atEnd()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.counted == 0 {
		return fmt.Errorf("no keep-alive response for %d leases in %v", len(ids), window)
	}
	return nil
}

// seed writes every key with val, many keys per transaction, outside any
// measurement.
func seed(ctx context.Context, c *rawV3, ks []string, val string) error {
	const perTxn = 100 // below the server's default --max-txn-ops of 128
	batches := (len(ks) + perTxn - 1) / perTxn
	var next atomic.Int64
	return parallel(ctx, 8, batches, func(ctx context.Context) error {
		b := int(next.Add(1) - 1)
		lo, hi := b*perTxn, min((b+1)*perTxn, len(ks))
		ops := make([]*pb.RequestOp, 0, hi-lo)
		for _, k := range ks[lo:hi] {
			ops = append(ops, &pb.RequestOp{Request: &pb.RequestOp_RequestPut{
				RequestPut: &pb.PutRequest{Key: []byte(k), Value: []byte(val)},
			}})
		}
		_, err := c.kv.Txn(ctx, &pb.TxnRequest{Success: ops})
		return err
	})
}

// parallel calls f n times from up to workers goroutines and returns the
// first error.
func parallel(ctx context.Context, workers, n int, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 && ctx.Err() == nil {
				if err := f(ctx); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
