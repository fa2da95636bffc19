package robustness

import (
	"context"
	"math"
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

// completeTo returns the revision up to which resp shows its watch has
// delivered every event (0 if it shows nothing new), and false when resp
// ends the watch (compacted, failed or canceled), after which it shows
// nothing more.
func completeTo(resp WatchResponse) (int64, bool) {
	switch {
	case resp.CompactRevision > 0 || resp.Err != "" || resp.Canceled:
		return 0, false
	case resp.Progress:
		return resp.Revision, true
	case len(resp.Events) > 0:
		return resp.Events[len(resp.Events)-1].ModRev, true
	}
	return 0, true
}

// watchProgress tracks the revision each full watch has shown complete, so
// that the run can wait for them to catch up at its end. A watch that ended
// is no longer waited for.
type watchProgress struct {
	mu   sync.Mutex
	revs map[int]int64
}

// open registers full watch id before it delivers anything.
func (p *watchProgress) open(id int) {
	p.mu.Lock()
	p.revs[id] = 0
	p.mu.Unlock()
}

func (p *watchProgress) observe(id int, resp WatchResponse) {
	rev, live := completeTo(resp)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.revs[id]; !ok {
		return
	}
	if !live {
		delete(p.revs, id)
		return
	}
	p.revs[id] = max(p.revs[id], rev)
}

// lowest returns the revision every live full watch has reached; with
// none live, there is nothing to wait for (math.MaxInt64).
func (p *watchProgress) lowest() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	low := int64(math.MaxInt64)
	for _, r := range p.revs {
		low = min(low, r)
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
