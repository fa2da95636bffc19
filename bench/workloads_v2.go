package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
)

const (
	v2GetKey = "/bench-v2/get"
	v2Dir    = "/bench-v2/dir"
	// v2Batch events are written, then read, at a time: the v2 store keeps
	// only the last 1,000 events, so a watcher must not fall further behind.
	v2Batch = 500
	// v2DirNodes is the size of the directories read recursively.
	v2DirNodes = 1000
	// v2EscapedDir holds values of 256 zero bytes, each escaped by the
	// server as \u0000: a reply of about 1.5 MB, sent chunked.
	v2EscapedDir  = "/bench-v2/escaped"
	v2EscapedSize = 256
)

func v2Workloads() []workload {
	return []workload{
		{name: "v2-set", title: "v2 set, 1 caller", unit: "op", v2: v2SetWorkload},
		{name: "v2-get", title: "v2 get, 1 caller", unit: "op", prepare: seedV2Get, v2: v2GetWorkload(false)},
		{name: "v2-get-quorum", title: "v2 quorum get, 1 caller", unit: "op", prepare: seedV2Get, v2: v2GetWorkload(true)},
		{name: "v2-get-recursive-1000", title: "v2 recursive get, 1,000 nodes", unit: "op", prepare: seedV2Dir, v2: v2RecursiveWorkload(v2Dir, 1)},
		{name: "v2-get-recursive-1000-c4", title: "v2 recursive get, 1,000 nodes, 4 callers", unit: "op", prepare: seedV2Dir, v2: v2RecursiveWorkload(v2Dir, 4)},
		{name: "v2-get-recursive-1000-c64", title: "v2 recursive get, 1,000 nodes, 64 callers", unit: "op", prepare: seedV2Dir, v2: v2RecursiveWorkload(v2Dir, 64)},
		{name: "v2-get-recursive-escaped-c4", title: "v2 recursive get, 1,000 escaped 256 B values (1.5 MB), 4 callers", unit: "op", prepare: seedV2EscapedDir, v2: v2RecursiveWorkload(v2EscapedDir, 4)},
		{name: "v2-get-recursive-escaped-c64", title: "v2 recursive get, 1,000 escaped 256 B values (1.5 MB), 64 callers", unit: "op", prepare: seedV2EscapedDir, v2: v2RecursiveWorkload(v2EscapedDir, 64)},
		{name: "v2-watch", title: "v2 watch, 1 watcher", unit: "event", oneMember: true, v2: v2WatchWorkload},
	}
}

// v2Prefix turns a fresh v3-style key prefix into a v2 directory.
func v2Prefix(e *env) string { return "/bench-v2" + strings.TrimSuffix(e.keyPrefix(), "/") }

func v2SetWorkload(ctx context.Context, e *env, c v2Client, p *phase) error {
	ks := keys(v2Prefix(e)+"/", keySpace)
	val := value(valueSize)
	return p.loop(ctx, e.cfg, 1, 0, func(ctx context.Context, _ int, i int64) error {
		return c.Set(ctx, ks[i%keySpace], val)
	})
}

func seedV2Get(ctx context.Context, e *env) error {
	return e.setup2.Set(ctx, v2GetKey, value(valueSize))
}

func v2GetWorkload(quorum bool) func(ctx context.Context, e *env, c v2Client, p *phase) error {
	return func(ctx context.Context, e *env, c v2Client, p *phase) error {
		return p.loop(ctx, e.cfg, 1, 0, func(ctx context.Context, _ int, _ int64) error {
			n, err := c.Get(ctx, v2GetKey, quorum, false)
			if err == nil && n != 1 {
				err = fmt.Errorf("get returned %d nodes, want 1", n)
			}
			return err
		})
	}
}

func seedV2Dir(ctx context.Context, e *env) error {
	return seedDir(ctx, e, v2Dir, value(valueSize))
}

func seedV2EscapedDir(ctx context.Context, e *env) error {
	return seedDir(ctx, e, v2EscapedDir, strings.Repeat("\x00", v2EscapedSize))
}

func seedDir(ctx context.Context, e *env, dir, val string) error {
	ks := keys(dir+"/", v2DirNodes)
	var next atomic.Int64
	return parallel(ctx, 16, len(ks), func(ctx context.Context) error {
		return e.setup2.Set(ctx, ks[next.Add(1)-1], val)
	})
}

func v2RecursiveWorkload(dir string, callers int) func(ctx context.Context, e *env, c v2Client, p *phase) error {
	return func(ctx context.Context, e *env, c v2Client, p *phase) error {
		return p.loop(ctx, e.cfg, callers, 0, func(ctx context.Context, _ int, _ int64) error {
			n, err := c.Get(ctx, dir, false, true)
			if err == nil && n != v2DirNodes {
				err = fmt.Errorf("recursive get of %s returned %d nodes, want %d", dir, n, v2DirNodes)
			}
			return err
		})
	}
}

// v2WatchWorkload measures event delivery to a v2 watcher, which asks for
// one event per request. Writes happen between measured segments (a v2
// watcher that lags more than 1,000 events behind loses its place), so the
// watcher reads events the store already holds.
func v2WatchWorkload(ctx context.Context, e *env, c v2Client, p *phase) error {
	dir := v2Prefix(e)
	start, err := e.setup2.setIndex(ctx, dir+"/start", "start")
	if err != nil {
		return err
	}
	next, err := c.Watch(ctx, dir, start)
	if err != nil {
		return err
	}
	val := value(valueSize)
	ks := keys(dir+"/", keySpace)
	total := e.cfg.v2Events
	if p.profiled() {
		total *= 4
	}
	written := 0
	for written < total {
		n := min(v2Batch, total-written)
		for i := range n {
			if err := e.setup2.Set(ctx, ks[(written+i)%keySpace], val); err != nil {
				return err
			}
		}
		p.resume()
		for range n {
			if err := next(ctx); err != nil {
				return fmt.Errorf("after %d of %d events: %w", written, total, err)
			}
			written++
		}
		p.pause()
	}
	p.counted = float64(total)
	p.stop(float64(total))
	return nil
}
