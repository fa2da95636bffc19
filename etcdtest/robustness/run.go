package robustness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// A NewClient connects a client under test to endpoints. ctx bounds the
// client's whole life, as clientv3.Config.Context does.
type NewClient func(ctx context.Context, endpoints []string) (Client, error)

// A Subject is a client under test, by name.
type Subject struct {
	Name string
	New  NewClient
}

// Config says how to run. Zero fields take the defaults given.
type Config struct {
	// Seed makes the nemesis' schedule and the workers' choices.
	Seed int64
	// Duration is how long workers and faults run (default 30s).
	Duration time.Duration
	// Clients is how many clients each subject runs, as separate
	// processes would (default 3); Workers is how many key-value workers
	// share them (default 12); Keys is how many keys they contend on
	// (default 10); Lockers is how many lock and election holders take
	// turns (default 4, half of them on an election).
	Clients, Workers, Keys, Lockers int
	// Faults are the faults the nemesis draws from (default Faults);
	// NoFaults runs without any.
	Faults   []Fault
	NoFaults bool
	// Dir, when set, receives porcupine's visualization and the history
	// of a subject whose history is not linearizable.
	Dir string
	// CheckTimeout bounds the linearizability check (default 5m).
	CheckTimeout time.Duration
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Clients, 3)
	def(&c.Workers, 12)
	def(&c.Keys, 10)
	def(&c.Lockers, 4)
	if c.Duration <= 0 {
		c.Duration = 30 * time.Second
	}
	if c.Faults == nil {
		c.Faults = Faults
	}
	if c.CheckTimeout <= 0 {
		c.CheckTimeout = 5 * time.Minute
	}
	return c
}

// Run drives every subject at once on cluster c, each with its own clients
// and keys, under one nemesis, and checks each subject's history. It returns
// a report per subject, in order; an error only when the run itself could
// not be made (a client could not connect, the cluster did not recover).
func Run(ctx context.Context, c *etcdtest.Cluster, cfg Config, subjects ...Subject) ([]*Report, error) {
	cfg = cfg.withDefaults()
	for _, f := range cfg.Faults {
		if !ValidFault(f) {
			return nil, fmt.Errorf("robustness: unknown fault %q (want some of %v)", f, Faults)
		}
	}
	start := time.Now()
	var tag [4]byte
	rand.Read(tag[:])
	runs := make([]*subjectRun, len(subjects))
	defer func() {
		for _, r := range runs {
			if r != nil {
				r.close()
			}
		}
	}()
	for i, s := range subjects {
		prefix := fmt.Sprintf("/robustness/%s-%d-%s/", hex.EncodeToString(tag[:]), cfg.Seed, s.Name)
		r, err := startSubject(ctx, c, cfg, s, prefix, cfg.Seed+int64(i)*1000, start)
		if err != nil {
			return nil, fmt.Errorf("robustness: starting %s: %w", s.Name, err)
		}
		runs[i] = r
	}
	// The workload ran from the first worker's start; faults run for
	// cfg.Duration from now, then every subject stops at once.
	window := workload{from: time.Since(start)}
	faultCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	injections := runNemesis(faultCtx, c, cfg, runs[0])
	window.to = time.Since(start)
	for _, r := range runs {
		r.cancelWork()
	}
	for _, r := range runs {
		r.work.Wait()
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	_, err := c.WaitLeader(wctx)
	wcancel()
	if err != nil {
		return nil, fmt.Errorf("robustness: the cluster did not recover: %w", err)
	}
	for _, r := range runs {
		r.finish(ctx)
	}
	reports := make([]*Report, len(runs))
	for i, r := range runs {
		reports[i] = r.report(cfg, injections, window)
	}
	return reports, nil
}

// workload is when the workers ran, on the run's clock: the figures and
// the lock holdings count within it.
type workload struct{ from, to time.Duration }

func runNemesis(ctx context.Context, c *etcdtest.Cluster, cfg Config, observer *subjectRun) []Injection {
	if cfg.NoFaults {
		<-ctx.Done()
		return nil
	}
	cli := observer.clients[0]
	n := &nemesis{
		c: c, rng: mrand.New(mrand.NewSource(cfg.Seed)), faults: cfg.Faults, now: observer.rec.now, // the run's one clock
		compact: cli.Compact,
		currentRev: func(ctx context.Context) (int64, error) {
			res, err := cli.Do(ctx, Request{Kind: Get, Key: observer.prefix})
			return res.Revision, err
		},
	}
	return n.run(ctx)
}

// subjectRun is one subject's part of a run.
type subjectRun struct {
	name    string
	prefix  string
	keys    []string
	clients []Client
	rec     *recorder
	kept    *keptLeases
	// cancelClients ends the clients' context; cancelWork the workers';
	// cancelKeep the keep-alives'; cancelWatch the full watches'.
	cancelClients, cancelWork, cancelKeep, cancelWatch context.CancelFunc
	work, watch                                        sync.WaitGroup
	progress                                           *watchProgress
	// latest is the highest revision any worker's request returned.
	latest atomic.Int64
	// stopped holds the leases whose keep-alive ended before the run's
	// end, once finish has ended them all.
	stopped map[int64]bool
}

func startSubject(ctx context.Context, c *etcdtest.Cluster, cfg Config, s Subject, prefix string, seed int64, start time.Time) (*subjectRun, error) {
	r := &subjectRun{name: s.Name, prefix: prefix, rec: newRecorder(prefix+"kv/", start), progress: &watchProgress{revs: map[int]int64{}}}
	cctx, cancel := context.WithCancel(ctx)
	r.cancelClients = cancel
	for range cfg.Clients {
		cli, err := s.New(cctx, c.Endpoints())
		if err != nil {
			r.close()
			return nil, err
		}
		r.clients = append(r.clients, cli)
	}
	for i := range cfg.Keys {
		r.keys = append(r.keys, fmt.Sprintf("%sk%02d", r.rec.h.Prefix, i))
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	res, err := r.clients[0].Do(gctx, Request{Kind: Get, Key: r.rec.h.Prefix})
	cancel()
	if err != nil {
		r.close()
		return nil, err
	}
	r.rec.h.StartRev = res.Revision
	r.startWatches(ctx)
	r.startWorkers(ctx, cfg, seed)
	return r, nil
}

func (r *subjectRun) startWatches(ctx context.Context) {
	wctx, cancel := context.WithCancel(ctx)
	r.cancelWatch = cancel
	for i, cli := range r.clients {
		r.progress.open(-1 - i)
		r.watch.Add(1)
		go func() {
			defer r.watch.Done()
			fullWatch(wctx, cli, r.rec, -1-i, r.rec.h.StartRev, r.progress)
		}()
	}
}

func (r *subjectRun) startWorkers(ctx context.Context, cfg Config, seed int64) {
	kctx, cancel := context.WithCancel(ctx)
	r.cancelKeep = cancel
	r.kept = newKeptLeases(kctx, r.rec)
	wctx, cancel := context.WithCancel(ctx)
	r.cancelWork = cancel
	go1 := func(f func()) {
		r.work.Add(1)
		go func() { defer r.work.Done(); f() }()
	}
	for i := range cfg.Workers {
		w := &kvWorker{id: i, cli: r.clients[i%len(r.clients)], rec: r.rec, rng: mrand.New(mrand.NewSource(seed + int64(i))),
			keys: r.keys, seen: map[string]Result{}, kept: r.kept}
		w.onResult = func(res Result) {
			for cur := r.latest.Load(); res.Revision > cur && !r.latest.CompareAndSwap(cur, res.Revision); {
				cur = r.latest.Load()
			}
		}
		go1(func() { w.run(wctx) })
	}
	churner := cfg.Workers
	go1(func() {
		churnWatches(wctx, r.clients[1%len(r.clients)], r.rec, churner, mrand.New(mrand.NewSource(seed-1)), r.keys, r.latest.Load)
	})
	for i := range cfg.Lockers {
		l := &locker{id: churner + 1 + i, cli: r.clients[i%len(r.clients)], rec: r.rec, rng: mrand.New(mrand.NewSource(seed - 2 - int64(i))),
			election: i%2 == 1}
		l.name = r.prefix + "lock/mutex"
		if l.election {
			l.name = r.prefix + "lock/election"
		}
		l.resource = l.name + "-resource"
		go1(func() { l.run(wctx) })
	}
}

// finish reads every key once more on the healed cluster, lets the full
// watches catch up with the last revision, and ends the keep-alives and
// watches.
func (r *subjectRun) finish(ctx context.Context) {
	w := &kvWorker{id: -100, cli: r.clients[0], rec: r.rec, seen: map[string]Result{}}
	var last int64
	for _, k := range r.keys {
		for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
			if res, ok := w.do(ctx, Request{Kind: Get, Key: k}); ok {
				last = max(last, res.Revision)
				break
			}
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for r.progress.lowest() < last && time.Now().Before(deadline) && ctx.Err() == nil {
		for _, cli := range r.clients {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			cli.RequestProgress(pctx)
			cancel()
		}
		sleep(ctx, 200*time.Millisecond)
	}
	r.cancelKeep()
	r.cancelWatch()
	r.watch.Wait()
	r.stopped = r.kept.wait()
}

// close closes the subject's clients, ending whatever still runs.
func (r *subjectRun) close() {
	if r.cancelWork != nil {
		r.cancelWork()
		r.work.Wait()
	}
	if r.cancelWatch != nil {
		r.cancelWatch()
		r.watch.Wait()
	}
	if r.cancelKeep != nil {
		r.cancelKeep()
		r.kept.wait()
	}
	for _, cli := range r.clients {
		cli.Close() // the run is over: a client's complaint changes no verdict
	}
	r.clients = nil
	r.cancelClients()
}
