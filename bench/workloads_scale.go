package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// The scale workloads measure a client used at scale: many leases, many
// watchers, a very large range, many callers. Besides what the client
// spends (CPU, allocations), most also measure what it holds: heap and
// goroutines (footprint.go). They run for minutes, so they are a group of
// their own, run by -scale instead of the default workloads, and sized by
// the -scale-* flags; go test runs them tiny.

// scaleConfig sizes the scale workloads.
type scaleConfig struct {
	leases    int           // leases one client keeps alive
	leaseTTL  int64         // their TTL, in seconds
	keepAlive time.Duration // how long the keep-alives are measured

	watches   int           // watchers on one client
	prefixes  int           // the prefixes the prefix variant's watchers spread over
	eventRate int           // puts per second while the watchers are measured
	eventsFor time.Duration // how long the puts go on

	listKeys  int   // keys of the large range
	listValue int   // bytes per value
	pageSize  int64 // keys per page of the paged read

	callers    int           // concurrent callers
	callersFor time.Duration // how long they call
}

func defaultScaleConfig() scaleConfig {
	return scaleConfig{
		leases: 10000, leaseTTL: 10, keepAlive: time.Minute,
		watches: 10000, prefixes: 100, eventRate: 1000, eventsFor: 20 * time.Second,
		listKeys: 200000, listValue: 1024, pageSize: 1000,
		callers: 1000, callersFor: 10 * time.Second,
	}
}

// register defines the -scale-* flags, with s's values as their defaults.
func (s *scaleConfig) register(fs *flag.FlagSet) {
	fs.IntVar(&s.leases, "scale-leases", s.leases, "with -scale: leases one client keeps alive")
	fs.Int64Var(&s.leaseTTL, "scale-lease-ttl", s.leaseTTL, "with -scale: their TTL in seconds")
	fs.DurationVar(&s.keepAlive, "scale-keepalive-for", s.keepAlive, "with -scale: how long the keep-alives are measured")
	fs.IntVar(&s.watches, "scale-watches", s.watches, "with -scale: watchers on one client")
	fs.IntVar(&s.prefixes, "scale-prefixes", s.prefixes, "with -scale: prefixes the watchers of scale-watch-prefixes spread over")
	fs.IntVar(&s.eventRate, "scale-event-rate", s.eventRate, "with -scale: puts per second while the watchers are measured")
	fs.DurationVar(&s.eventsFor, "scale-events-for", s.eventsFor, "with -scale: how long those puts go on")
	fs.IntVar(&s.listKeys, "scale-keys", s.listKeys, "with -scale: keys of the large range")
	fs.IntVar(&s.listValue, "scale-value-size", s.listValue, "with -scale: bytes per value of the large range")
	fs.Int64Var(&s.pageSize, "scale-page", s.pageSize, "with -scale: keys per page of the paged read")
	fs.IntVar(&s.callers, "scale-callers", s.callers, "with -scale: concurrent callers of scale-callers")
	fs.DurationVar(&s.callersFor, "scale-callers-for", s.callersFor, "with -scale: how long they call")
}

// check reports sizes the workloads cannot run with.
func (s *scaleConfig) check() error {
	switch {
	case s.leases <= 0 || s.watches <= 0 || s.listKeys <= 0 || s.callers <= 0 || s.pageSize <= 0 || s.eventRate <= 0:
		return errors.New("-scale-*: counts must be positive")
	case s.prefixes <= 0 || s.prefixes > s.watches:
		return fmt.Errorf("-scale-prefixes %d: want 1 to -scale-watches (%d)", s.prefixes, s.watches)
	case s.leaseTTL <= 0 || s.keepAlive <= 0 || s.eventsFor <= 0 || s.callersFor <= 0:
		return errors.New("-scale-*: TTL and durations must be positive")
	case s.listValue < 0:
		return errors.New("-scale-value-size: must not be negative")
	}
	return nil
}

// longest is the longest measured window the sizes ask for.
func (s *scaleConfig) longest() time.Duration {
	return max(s.keepAlive, s.eventsFor, s.callersFor)
}

const (
	scaleListDir    = "/bench/scale-list/"
	scaleCallersDir = "/bench/scale-callers/"
	// scaleWriters is how many puts the watchers' writer has in flight at
	// most: enough to keep the pace with puts of a few milliseconds.
	scaleWriters = 32
)

func scaleWorkloads(s *scaleConfig) []workload {
	size := fmt.Sprintf("%d B", s.listValue)
	if s.listValue >= 1024 && s.listValue%1024 == 0 {
		size = fmt.Sprintf("%d KiB", s.listValue/1024)
	}
	list := fmt.Sprintf("%s keys × %s", grouped(s.listKeys), size)
	// The workloads that hold goroutines warm the runtime's pool of
	// goroutine descriptors up first (footprint.go): to about the most any
	// of them runs, a lease's or a watcher's goroutine in the client and
	// the harness's reader of its channel.
	warm := max(s.leases, 2*s.watches)
	return []workload{
		{name: "scale-keepalive", unit: "s", oneMember: true, warmGoroutines: warm, v3: scaleKeepAliveWorkload,
			title: fmt.Sprintf("keep-alive of %s leases, TTL %d s (per second)", grouped(s.leases), s.leaseTTL)},
		{name: "scale-keepalive-placed", unit: "s", placed: true, warmGoroutines: warm, v3: scaleKeepAliveWorkload,
			title: fmt.Sprintf("keep-alive of %s leases, TTL %d s, client given every member (per second)", grouped(s.leases), s.leaseTTL)},
		{name: "scale-watch-keys", unit: "event", oneMember: true, warmGoroutines: warm, v3: scaleWatchWorkload(false),
			title: fmt.Sprintf("%s watchers, one key each, %s puts/s", grouped(s.watches), grouped(s.eventRate))},
		{name: "scale-watch-prefixes", unit: "event", oneMember: true, warmGoroutines: warm, v3: scaleWatchWorkload(true),
			title: fmt.Sprintf("%s watchers over %s prefixes, %s puts/s", grouped(s.watches), grouped(s.prefixes), grouped(s.eventRate))},
		{name: "scale-list-get", unit: "read", oneMember: true, prepare: seedScaleList, v3: scaleListWorkload(listGet),
			title: "list " + list + ": Get(prefix)"},
		{name: "scale-list-stream", unit: "read", oneMember: true, prepare: seedScaleList, v3: scaleListWorkload(listStream),
			title: "list " + list + ": GetStream(prefix)"},
		{name: "scale-list-paged", unit: "read", oneMember: true, prepare: seedScaleList, v3: scaleListWorkload(listPaged),
			title: fmt.Sprintf("list %s: pages of %s", list, grouped(int(s.pageSize)))},
		{name: "scale-callers", unit: "op", prepare: seedScaleCallers, v3: scaleCallersWorkload,
			title: fmt.Sprintf("%s callers, get and put 50/50", grouped(s.callers))},
	}
}

// scaleKeepAliveWorkload is keepAliveWorkload with many more leases, and
// what the client holds for them: heap and goroutines, read at the end of
// the window. The leases are revoked afterwards, so that their expiry does
// not load the servers during the next phase.
func scaleKeepAliveWorkload(ctx context.Context, e *env, c v3Client, p *phase) error {
	s := e.cfg.scale
	ids, err := grantLeases(ctx, e, s.leases, s.leaseTTL)
	defer revokeLeases(ctx, e, ids)
	if err != nil {
		return err
	}
	return keepAliveWindow(ctx, e, c, p, ids, s.leaseTTL, s.keepAlive, func() { p.hold(0) })
}

// revokeLeases revokes the leases granted (the ids not 0), even after ctx
// has ended.
func revokeLeases(ctx context.Context, e *env, ids []int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var next atomic.Int64
	parallel(ctx, 32, len(ids), func(ctx context.Context) error {
		if id := ids[next.Add(1)-1]; id != 0 {
			e.setup3.lease.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: id}) // an expired lease is gone anyway
		}
		return nil
	})
}

// scaleWatchWorkload measures many watchers on one client while a writer
// child process (writer.go) puts at a steady rate: either every watcher
// watches a key of its own, which the puts visit in turn, or the watchers
// spread evenly over a few prefixes, so that each put reaches every watcher
// of its prefix. The unit is a delivered event; the latency of one is from
// the moment its put returned to the writer to the moment the watcher got
// it (0 if the watcher was first), matched by revision. Heap and goroutines
// are read once every event has arrived and the writer has exited, with
// every watcher still open.
func scaleWatchWorkload(prefixes bool) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		s := e.cfg.scale
		base := e.keyPrefix()
		puts := max(1, int(float64(s.eventRate)*s.eventsFor.Seconds()))
		job := writerJob{Endpoints: e.endpoints, Prefix: base, N: puts, Workers: scaleWriters,
			ValueSize: valueSize, Rate: float64(s.eventRate), Record: true}
		var watched []string
		var want int64
		if prefixes {
			// Watcher i watches prefix i mod prefixes; put j writes under
			// prefix j mod prefixes and reaches all of its watchers.
			watched = make([]string, s.watches)
			perPrefix := make([]int64, s.prefixes)
			for i := range watched {
				watched[i] = base + strconv.Itoa(i%s.prefixes) + "/"
				perPrefix[i%s.prefixes]++
			}
			for j := range puts {
				want += perPrefix[j%s.prefixes]
			}
			job.Keys, job.Suffix = s.prefixes, "/k"
		} else {
			watched = keys(base, s.watches)
			want = int64(puts)
			job.Keys = s.watches
		}

		arrivals := make([]revTime, want)
		var got atomic.Int64
		done := make(chan struct{})
		var once sync.Once
		var watchErr error
		finish := func(err error) { once.Do(func() { watchErr = err; close(done) }) }
		stop, err := c.WatchEach(ctx, watched, prefixes, func(rev int64, err error) {
			if err != nil {
				finish(err)
				return
			}
			i := got.Add(1) - 1
			if i < want {
				arrivals[i] = revTime{rev: rev, at: time.Now().UnixNano()}
			}
			if i+1 >= want {
				finish(nil)
			}
		})
		if err != nil {
			return err
		}
		defer stop()
		w, err := startWriter(ctx, job)
		if err != nil {
			return err
		}
		if err := deliverWrites(ctx, p, w, done, &got, want, finish); err != nil {
			return err
		}
		// The writer first: os/exec runs goroutines for it in this process.
		returned, err := w.waitRecords(puts)
		if err != nil {
			return err
		}
		p.hold(uint64(cap(arrivals)+cap(returned)) * uint64(unsafe.Sizeof(revTime{})))
		stop() // the arrivals are complete once the watchers' goroutines have ended
		if watchErr != nil {
			return watchErr
		}
		slices.SortFunc(returned, func(a, b revTime) int { return cmp.Compare(a.rev, b.rev) })
		for _, a := range arrivals[:min(got.Load(), want)] {
			i, ok := slices.BinarySearchFunc(returned, a.rev, func(r revTime, rev int64) int { return cmp.Compare(r.rev, rev) })
			if !ok {
				return fmt.Errorf("an event at revision %d, which no put of the writer made", a.rev)
			}
			p.hist.record(time.Duration(a.at - returned[i].at)) // negative (the watcher was first) counts as 0
		}
		p.latencies = true
		return nil
	}
}

// seedScaleList writes the large range, once per cluster: the three list
// workloads read the same keys, so a range already complete is kept.
func seedScaleList(ctx context.Context, e *env) error {
	s := e.cfg.scale
	resp, err := e.setup3.kv.Range(ctx, &pb.RangeRequest{Key: []byte(scaleListDir), RangeEnd: prefixEnd(scaleListDir), CountOnly: true})
	if err != nil {
		return err
	}
	if resp.Count == int64(s.listKeys) {
		return nil
	}
	return seed(ctx, e.setup3, keys(scaleListDir, s.listKeys), value(s.listValue))
}

// listRead is one way to read the whole range; it returns the keys read.
type listRead func(ctx context.Context, c v3Client, s *scaleConfig) (int, error)

func listGet(ctx context.Context, c v3Client, _ *scaleConfig) (int, error) {
	return c.GetPrefix(ctx, scaleListDir)
}

func listStream(ctx context.Context, c v3Client, _ *scaleConfig) (int, error) {
	return c.GetPrefixStream(ctx, scaleListDir)
}

// listPaged reads pages with the client's own paged reader if it has one
// (etcdkit's paging.Range), and with the loop a user writes otherwise.
func listPaged(ctx context.Context, c v3Client, s *scaleConfig) (int, error) {
	if r, ok := c.(pagedReader); ok {
		return r.RangePaged(ctx, scaleListDir, s.pageSize)
	}
	return c.GetPrefixPaged(ctx, scaleListDir, s.pageSize)
}

// scaleListWorkload reads the large range once, whole, under measurement:
// the latency is the time to the last key, and the heap figure the peak of
// the heap in use during the read above the heap just before it (sampled
// every few milliseconds; see heapPeak), which is what reading the range
// this way asks of a client's memory.
func scaleListWorkload(read listRead) v3Run {
	return func(ctx context.Context, e *env, c v3Client, p *phase) error {
		s := e.cfg.scale
		// The sampler is made before the window, its base read at its
		// opening, after the garbage of everything before (pooled buffers
		// included) has been collected: the base is what is live.
		peak := newHeapPeak()
		collectAll()
		p.start()
		peak.begin()
		t0 := time.Now()
		n, err := read(ctx, c, s)
		took := time.Since(t0)
		grew := peak.stop()
		p.stop(1)
		if err != nil {
			return err
		}
		if n != s.listKeys {
			return fmt.Errorf("read %d keys, want %d", n, s.listKeys)
		}
		p.counted = 1
		p.hist.record(took)
		p.latencies = true
		p.setFootprint(float64(grew), 0)
		return nil
	}
}

// seedScaleCallers writes the keys the callers read and write.
func seedScaleCallers(ctx context.Context, e *env) error {
	return seed(ctx, e.setup3, keys(scaleCallersDir, keySpace), value(valueSize))
}

// scaleCallersWorkload has many goroutines share one client for a fixed
// time, each alternating a linearizable get and a put of one of 1,000
// keys: what the client does under many callers at once, on every member.
func scaleCallersWorkload(ctx context.Context, e *env, c v3Client, p *phase) error {
	s := e.cfg.scale
	ks := keys(scaleCallersDir, keySpace)
	val := value(valueSize)
	return p.loopFor(ctx, e.cfg, s.callersFor, s.callers, 0, func(ctx context.Context, _ int, i int64) error {
		k := ks[i%keySpace]
		if i%2 == 1 {
			return c.Put(ctx, k, val)
		}
		n, err := c.Get(ctx, k, false)
		if err == nil && n != 1 {
			err = fmt.Errorf("get of %s returned %d keys, want 1", k, n)
		}
		return err
	})
}

// grouped writes n with thousands separators: 10000 is "10,000".
// The sizes it writes are positive (scaleConfig.check).
func grouped(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
