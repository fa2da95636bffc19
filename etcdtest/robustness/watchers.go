package robustness

import (
	"context"
	"math/rand"
	"sync"
	"time"
)

// watchOne records everything a watch delivers until ctx is done or the
// client closes the channel, showing each response to observe if not nil.
func watchOne(ctx context.Context, cli Client, rec *recorder, worker int, req WatchRequest, observe func(WatchResponse)) {
	w := WatchRecord{Worker: worker, Req: req, Opened: rec.now()}
	for resp := range cli.Watch(ctx, req) {
		resp.Time = rec.now()
		w.Responses = append(w.Responses, resp)
		if observe != nil {
			observe(resp)
		}
	}
	w.Closed = ctx.Err() == nil
	rec.watch(w)
}

// watchProgress tracks the highest revision the full watches have shown
// complete, so that the run can wait for them to catch up at its end.
type watchProgress struct {
	mu   sync.Mutex
	revs map[int]int64
}

func (p *watchProgress) observe(id int, resp WatchResponse) {
	rev := resp.Revision
	if !resp.Progress && len(resp.Events) > 0 {
		rev = resp.Events[len(resp.Events)-1].ModRev
	}
	p.mu.Lock()
	p.revs[id] = max(p.revs[id], rev)
	p.mu.Unlock()
}

// lowest returns the revision every full watch has reached.
func (p *watchProgress) lowest() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var low int64 = -1
	for _, r := range p.revs {
		if low < 0 || r < low {
			low = r
		}
	}
	return low
}

// fullWatch watches the whole key space of the run from its first revision
// until ctx is done, reporting its progress.
func fullWatch(ctx context.Context, cli Client, rec *recorder, id int, startRev int64, progress *watchProgress) {
	req := WatchRequest{Key: rec.h.Prefix, Prefix: true, Revision: startRev + 1, ProgressNotify: true}
	watchOne(ctx, cli, rec, id, req, func(resp WatchResponse) { progress.observe(id, resp) })
}

// churnWatches opens short watches on random keys or the whole prefix, from
// random past revisions or from now on, and asks for progress notifications,
// until ctx is done.
func churnWatches(ctx context.Context, cli Client, rec *recorder, id int, rng *rand.Rand, keys []string, lastRev func() int64) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		req := WatchRequest{Key: rec.h.Prefix, Prefix: true, ProgressNotify: rng.Intn(2) == 0}
		if rng.Intn(2) == 0 {
			req = WatchRequest{Key: keys[rng.Intn(len(keys))]}
		}
		if cur := lastRev(); cur > rec.h.StartRev && rng.Intn(3) > 0 {
			back := rng.Int63n(min(cur-rec.h.StartRev, 500)) + 1
			req.Revision = cur - back + 1
		}
		wctx, cancel := context.WithTimeout(ctx, time.Duration(2+rng.Intn(8))*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			watchOne(wctx, cli, rec, id, req, nil)
		}()
		for range 2 + rng.Intn(4) {
			sleep(ctx, 500*time.Millisecond)
			if rng.Intn(3) == 0 {
				pctx, pcancel := context.WithTimeout(ctx, time.Second)
				cli.RequestProgress(pctx)
				pcancel()
			}
		}
	}
}
