package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// config sizes a run. quickConfig and fullConfig are the two the command
// offers; the test uses a tiny one.
type config struct {
	rounds      int           // A/B rounds per workload; results are medians over rounds
	phase       time.Duration // how long one operation loop runs
	maxOps      int64         // cap on one operation loop (0: none)
	deleteKeys  int           // keys seeded for, and so the most operations of, one delete run
	watchEvents int           // events delivered to the single watcher
	fanoutPuts  int           // puts each of the 100 watchers on one stream sees
	leaseTTL    int64         // seconds
	keepAlive   time.Duration // how long keep-alives are measured
	v2Events    int           // events delivered to the v2 watcher
	members     []int         // cluster sizes to run
	// scale, when set, runs the scale workloads (workloads_scale.go), sized
	// by it, instead of the default ones: they take far longer.
	scale      *scaleConfig
	clients    []string // which clients to run (all by default)
	only       *regexp.Regexp
	profileDir string
	// profilePhase is the least a profiled operation loop runs: a profile
	// needs more samples than a measurement needs time.
	profilePhase time.Duration
	phaseLimit   time.Duration // a phase taking longer than this has failed
	log          func(format string, args ...any)
}

// quickConfig runs three short rounds rather than two longer ones: with
// the load of a shared machine drifting, the median of three finely
// alternated rounds is steadier than the mean of two.
func quickConfig() config {
	return config{
		rounds: 3, phase: 150 * time.Millisecond,
		deleteKeys:  2000,
		watchEvents: 4000, fanoutPuts: 500,
		// A client renews a lease every 1 to 1.5 s (a third of the TTL,
		// plus whatever its batching adds); a window that is a multiple of
		// 0.5, 1 and 1.5 s holds whole rounds of any of these cadences.
		leaseTTL: 3, keepAlive: 3 * time.Second,
		v2Events: 600,
		members:  []int{1, 3}, phaseLimit: 2 * time.Minute, profilePhase: 2 * time.Second,
	}
}

func fullConfig() config {
	c := quickConfig()
	c.phase = time.Second
	c.deleteKeys = 10000
	c.watchEvents = 100000
	c.fanoutPuts = 5000
	c.keepAlive = 6 * time.Second
	c.v2Events = 3000
	return c
}

func (c *config) logf(format string, args ...any) {
	if c.log != nil {
		c.log(format, args...)
	}
}

// workload is one measurement, written once against a client interface and
// run for every client. Exactly one of v3 and v2 is set.
type workload struct {
	name  string // stable identifier, used in the summary line and the JSON
	title string // for the table
	unit  string // what the per-unit columns count: "op", "event" or "s"
	// oneMember connects every client to the same single member (a
	// follower) instead of all of them. For the workloads that live on one
	// stream, which member the stream lands on changes the client's cost
	// several-fold (how responses are batched differs between a leader and
	// a follower), and the client libraries pick members at random: without
	// this, the placement, not the client, would decide the ratio.
	oneMember bool
	// placed marks a stream workload run with every member given to every
	// client, so that the client library's placement of the stream is what
	// is measured (oneMember's counterpart); it runs only on clusters of
	// more than one member.
	placed bool
	// prepare, if set, seeds data every phase of the workload reads; it
	// runs once per cluster, before any phase.
	prepare func(ctx context.Context, e *env) error
	// warmGoroutines, if set, is about the most goroutines a phase of the
	// workload runs at once, started and ended before its first phase so
	// that no client pays for the others' goroutine descriptors (see
	// warmGoroutines in footprint.go).
	warmGoroutines int
	v3             func(ctx context.Context, e *env, c v3Client, p *phase) error
	v2             func(ctx context.Context, e *env, c v2Client, p *phase) error
}

func (w *workload) api() string {
	if w.v3 != nil {
		return "v3"
	}
	return "v2"
}

func allWorkloads() []workload { return append(v3Workloads(), v2Workloads()...) }

// workloads returns the group of workloads cfg runs: the default ones, or
// the scale ones.
func (c *config) workloads() []workload {
	if c.scale != nil {
		return scaleWorkloads(c.scale)
	}
	return allWorkloads()
}

// env is what the workloads share on one cluster.
type env struct {
	cfg       *config
	endpoints []string // gRPC host:port, bypassing the fault proxies
	urls      []string // the same members as http:// URLs, for v2
	setup3    *rawV3   // seeds data for v3 workloads, outside any measurement
	setup2    *rawV2   // seeds data for v2 workloads
	members   []*rawV3 // one connection per member, to ask for its status
	pids      []int    // the members' processes, for their CPU time
	follower  int      // index of a follower in endpoints (0 for one member)
	seq       atomic.Int64
}

// keyPrefix returns a key prefix no other phase uses.
func (e *env) keyPrefix() string {
	return fmt.Sprintf("/bench/p%d/", e.seq.Add(1))
}

// sample is what one phase measured.
type sample struct {
	opsPerSec float64
	p50, p99  time.Duration
	cpu       float64 // per unit, in ns
	serverCPU float64 // the members', per unit, in ns; 0 if not read
	allocs    float64 // per unit
	bytes     float64 // per unit
	latencies bool
	// heap and goroutines are what the client held (see footprint.go), if
	// footprint is set.
	heap, goroutines float64
	footprint        bool
}

// Result is one client's result for one workload on one cluster: medians
// over the rounds.
type Result struct {
	API      string `json:"api"`
	Server   string `json:"server"`
	Members  int    `json:"members"`
	Workload string `json:"workload"`
	Title    string `json:"title"`
	Unit     string `json:"unit"`
	Client   string `json:"client"`
	Rounds   int    `json:"rounds"`
	// OpsPerSec is operations (events, keep-alive responses) per second.
	OpsPerSec float64 `json:"ops_per_sec"`
	// P50us and P99us are latencies in microseconds (0 where not measured).
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	// CPUus, Allocs and Bytes are per unit.
	CPUus float64 `json:"cpu_us_per_unit"`
	// ServerCPUus is the members' CPU per unit (user + system, from
	// /proc, 10 ms resolution), for the scale workloads.
	ServerCPUus float64 `json:"server_cpu_us_per_unit,omitempty"`
	Allocs      float64 `json:"allocs_per_unit"`
	Bytes       float64 `json:"bytes_per_unit"`
	// HeapBytes and Goroutines are what the client held, for the scale
	// workloads that measure it (0 elsewhere): the heap in use and the
	// goroutines beyond what the process had before the client existed,
	// or, for a large read, the peak heap above the heap before the read.
	HeapBytes  float64 `json:"heap_bytes,omitempty"`
	Goroutines float64 `json:"goroutines,omitempty"`
	Err        string  `json:"error,omitempty"`
}

func (r *Result) ok() bool { return r.Err == "" }

// cluster is one etcd cluster the workloads of one API run on.
type cluster struct {
	api     string
	version etcdtest.Version
	members int
}

func (c cluster) String() string {
	return fmt.Sprintf("%s on etcd %s × %d", c.api, c.version.Release(), c.members)
}

func clusters(cfg *config) []cluster {
	var out []cluster
	for _, api := range []string{"v3", "v2"} {
		for _, n := range cfg.members {
			cl := cluster{api: api, version: etcdtest.V3_7, members: n}
			if api == "v2" {
				cl.version = etcdtest.V3_5
			}
			out = append(out, cl)
		}
	}
	return out
}

// run measures every selected workload on every cluster.
func run(ctx context.Context, cfg *config) ([]Result, error) {
	var results []Result
	for _, cl := range clusters(cfg) {
		var ws []workload
		for _, w := range cfg.workloads() {
			if w.api() == cl.api && (cfg.only == nil || cfg.only.MatchString(w.name)) && (!w.placed || cl.members > 1) {
				ws = append(ws, w)
			}
		}
		if len(ws) == 0 {
			continue
		}
		rs, err := runCluster(ctx, cfg, cl, ws)
		if err != nil {
			return results, fmt.Errorf("%s: %w", cl, err)
		}
		results = append(results, rs...)
	}
	return results, nil
}

func runCluster(ctx context.Context, cfg *config, cl cluster, ws []workload) ([]Result, error) {
	cfg.logf("starting %s", cl)
	c, err := startHostedCluster(ctx, cl)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	e, closeEnv, err := newEnv(ctx, cfg, cl, c.endpoints)
	if err != nil {
		return nil, err
	}
	defer closeEnv()
	e.pids = c.pids
	var results []Result
	for i := range ws {
		rs, err := runWorkload(ctx, e, cl, &ws[i])
		if err != nil {
			return results, err
		}
		results = append(results, rs...)
	}
	return results, nil
}

// newEnv connects the set-up clients to a fresh cluster.
func newEnv(ctx context.Context, cfg *config, cl cluster, endpoints []string) (_ *env, closeAll func(), err error) {
	e := &env{cfg: cfg, endpoints: endpoints}
	var closers []func() error
	closeAll = func() {
		for _, c := range closers {
			c()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	for _, ep := range endpoints {
		e.urls = append(e.urls, "http://"+ep)
		m, err := dialRawV3([]string{ep})
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, m.Close)
		e.members = append(e.members, m)
	}
	if e.follower, err = e.findFollower(ctx); err != nil {
		return nil, nil, err
	}
	if cl.api == "v3" {
		if e.setup3, err = dialRawV3(endpoints); err != nil {
			return nil, nil, err
		}
		closers = append(closers, e.setup3.Close)
		// grpc connects on the first call. The scale workloads' first phase
		// (scale-keepalive grants its leases with this connection after its
		// baseline) would count the goroutines and buffers of connecting
		// as the client's: connect now.
		if cfg.scale != nil {
			if _, err := e.setup3.kv.Range(ctx, &pb.RangeRequest{Key: []byte(warmKeyV3)}); err != nil {
				return nil, nil, fmt.Errorf("connecting: %w", err)
			}
		}
		return e, closeAll, nil
	}
	e.setup2 = dialRawV2(e.urls)
	closers = append(closers, e.setup2.Close)
	if err := e.setup2.Set(ctx, warmKeyV2, "warm"); err != nil {
		return nil, nil, fmt.Errorf("seeding: %w", err)
	}
	return e, closeAll, nil
}

// runWorkload measures one workload with every client, round after round,
// and returns each client's medians. A client that fails a phase gets an
// n/a result and no further phases; the others go on.
func runWorkload(ctx context.Context, e *env, cl cluster, w *workload) ([]Result, error) {
	cfg := e.cfg
	if w.prepare != nil {
		if err := w.prepare(ctx, e); err != nil {
			return nil, fmt.Errorf("%s: preparing: %w", w.name, err)
		}
	}
	if w.warmGoroutines > 0 {
		warmGoroutines(w.warmGoroutines)
	}
	names := clientNames(cfg)
	samples := make(map[string][]sample)
	failed := make(map[string]error)
	for round := range cfg.rounds {
		for _, name := range roundOrder(names, round) {
			if failed[name] != nil {
				continue
			}
			p, err := runStablePhase(ctx, e, w, name)
			if err != nil {
				failed[name] = err
				cfg.logf("%s %s %s: %v", cl, w.name, name, err)
				continue
			}
			s := p.sample()
			samples[name] = append(samples[name], s)
			cfg.logf("%s %-22s %-8s round %d: %8.0f/s  cpu/%s %9.1fµs  allocs/%s %8.1f", cl, w.name, name, round+1,
				s.opsPerSec, w.unit, s.cpu/1e3, w.unit, s.allocs)
		}
	}
	if cfg.profileDir != "" {
		for _, name := range names {
			if failed[name] == nil {
				if err := runProfiled(ctx, e, w, name, cl); err != nil {
					cfg.logf("profiling %s %s: %v", w.name, name, err)
				}
			}
		}
	}
	var results []Result
	for _, name := range names {
		r := Result{API: cl.api, Server: cl.version.Release(), Members: cl.members,
			Workload: w.name, Title: w.title, Unit: w.unit, Client: name}
		if err := failed[name]; err != nil {
			r.Err = shortError(err)
		} else {
			r.fill(samples[name])
		}
		results = append(results, r)
	}
	return results, nil
}

// roundOrder returns the order in which the clients run in round r: the
// first client of round 0 runs last in round 1, and so on, so that no
// client always runs first on a cluster the workload's preparation (or
// the previous workload) has just left busy, compacting, collecting or
// revoking expired leases.
func roundOrder(names []string, r int) []string {
	if len(names) == 0 {
		return names
	}
	k := r % len(names)
	return append(slices.Clone(names[k:]), names[:k]...)
}

// clientNames returns the clients to run, in their order.
func clientNames(cfg *config) []string {
	if len(cfg.clients) == 0 {
		return clientOrder
	}
	var names []string
	for _, n := range clientOrder {
		if slices.Contains(cfg.clients, n) {
			names = append(names, n)
		}
	}
	return names
}

const (
	warmKeyV3 = "/bench/warm"
	warmKeyV2 = "/bench-warm"
)

// runStablePhase runs a phase, and runs it again (up to twice) if the
// cluster elected a leader meanwhile: an election (which an overloaded
// machine can cause) makes clients fail over and retry, and what that costs
// is not what the phase measures.
func runStablePhase(ctx context.Context, e *env, w *workload, client string) (*phase, error) {
	for attempt := 1; ; attempt++ {
		before := e.raftTerm(ctx)
		p := &phase{servers: e.pids}
		err := runPhase(ctx, e, w, client, p)
		if after := e.raftTerm(ctx); after != before && attempt < 3 {
			e.cfg.logf("%s %s: the cluster elected a leader during the phase (term %d → %d); running it again",
				w.name, client, before, after)
			continue
		}
		return p, err
	}
}

// findFollower returns the index of a member that is not the leader (0
// when there is only one).
func (e *env) findFollower(ctx context.Context) (int, error) {
	if len(e.members) == 1 {
		return 0, nil
	}
	for i, m := range e.members {
		st, err := pb.NewMaintenanceClient(m.conn).Status(ctx, &pb.StatusRequest{})
		if err != nil {
			return 0, fmt.Errorf("status of %s: %w", e.endpoints[i], err)
		}
		if st.Leader != 0 && st.Header.GetMemberId() != st.Leader {
			return i, nil
		}
	}
	return 0, errors.New("no member is a follower")
}

// clientEndpoints returns the endpoints the clients under test get for w.
func (e *env) clientEndpoints(w *workload) (endpoints, urls []string) {
	if w.oneMember {
		return e.endpoints[e.follower : e.follower+1], e.urls[e.follower : e.follower+1]
	}
	return e.endpoints, e.urls
}

// raftTerm returns the highest raft term the members report (0 if none
// answers).
func (e *env) raftTerm(ctx context.Context) uint64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var term uint64
	for _, m := range e.members {
		if st, err := pb.NewMaintenanceClient(m.conn).Status(ctx, &pb.StatusRequest{}); err == nil {
			term = max(term, st.RaftTerm)
		}
	}
	return term
}

// runPhase creates the client, warms its connections up, runs the workload
// once under measurement and closes the client: only one client exists while
// a phase is measured, so no other client's background work is charged to it.
func runPhase(ctx context.Context, e *env, w *workload, client string, p *phase) (err error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.phaseLimit)
	defer cancel()
	// Only the scale workloads measure what the client holds; the default
	// ones keep the phase as it was, without the collections a baseline
	// needs.
	p.base.goroutines = runtime.NumGoroutine()
	if e.cfg.scale != nil {
		p.base = takeBaseline()
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
		p.finish()
		// The scale workloads' figures depend on the next phase starting
		// without this one's goroutines: say so when they linger.
		if !quiesce(p.base.goroutines, clientLinger) && e.cfg.scale != nil {
			fmt.Fprintf(os.Stderr, "bench: warning: %s %s: %d goroutines still running %v after the phase, %d before it; the next phase's figures may include them\n",
				w.name, client, runtime.NumGoroutine(), clientLinger, p.base.goroutines)
		}
	}()
	endpoints, urls := e.clientEndpoints(w)
	if w.v3 != nil {
		c, err := v3Clients[client](ctx, endpoints)
		if err != nil {
			return fmt.Errorf("creating the client: %w", err)
		}
		defer c.Close()
		for range 10 {
			if _, err := c.Get(ctx, warmKeyV3, true); err != nil {
				return fmt.Errorf("warming up: %w", err)
			}
		}
		return w.v3(ctx, e, c, p)
	}
	c, err := v2Clients[client](ctx, urls)
	if err != nil {
		return fmt.Errorf("creating the client: %w", err)
	}
	defer c.Close()
	for range 10 {
		if _, err := c.Get(ctx, warmKeyV2, false, false); err != nil {
			return fmt.Errorf("warming up: %w", err)
		}
	}
	return w.v2(ctx, e, c, p)
}

// clientLinger bounds how long a closed client's goroutines may take to
// end. etcdkit's v2 client, which like the official one has no Close,
// keeps its health prober for a second after its last call.
const clientLinger = 3 * time.Second

// quiesce waits until no more than n goroutines are left, or for at most
// limit: a closed client's goroutines winding down must not run in the next
// client's measured window. It reports whether they came down to n.
func quiesce(n int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for runtime.NumGoroutine() > n {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// runProfiled runs one more, unmeasured phase with the CPU profiler on, so
// that the profiler's own cost stays out of the reported numbers.
func runProfiled(ctx context.Context, e *env, w *workload, client string, cl cluster) error {
	if err := os.MkdirAll(e.cfg.profileDir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%s-%dm-%s-%s.pprof", cl.api, cl.members, w.name, client)
	f, err := os.Create(filepath.Join(e.cfg.profileDir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	return runPhase(ctx, e, w, client, &phase{profile: f, servers: e.pids})
}

func (p *phase) sample() sample {
	s := sample{latencies: p.latencies}
	if p.units <= 0 {
		return s
	}
	if p.wall > 0 {
		s.opsPerSec = p.counted / p.wall.Seconds()
	}
	s.cpu = float64(p.cpu.Nanoseconds()) / p.units
	s.serverCPU = float64(p.serverCPU.Nanoseconds()) / p.units
	s.allocs = float64(p.mallocs) / p.units
	s.bytes = float64(p.bytes) / p.units
	if p.latencies {
		s.p50 = p.hist.quantile(0.5)
		s.p99 = p.hist.quantile(0.99)
	}
	s.heap, s.goroutines, s.footprint = p.heap, p.goroutines, p.footprint
	return s
}

func (r *Result) fill(ss []sample) {
	r.Rounds = len(ss)
	med := func(f func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		return median(v)
	}
	r.OpsPerSec = med(func(s sample) float64 { return s.opsPerSec })
	r.CPUus = med(func(s sample) float64 { return s.cpu }) / 1e3
	r.Allocs = med(func(s sample) float64 { return s.allocs })
	r.Bytes = med(func(s sample) float64 { return s.bytes })
	if len(ss) > 0 && ss[0].latencies {
		r.P50us = med(func(s sample) float64 { return float64(s.p50) }) / 1e3
		r.P99us = med(func(s sample) float64 { return float64(s.p99) }) / 1e3
	}
	if len(ss) > 0 && ss[0].footprint {
		r.ServerCPUus = med(func(s sample) float64 { return s.serverCPU }) / 1e3
		r.HeapBytes = med(func(s sample) float64 { return s.heap })
		r.Goroutines = med(func(s sample) float64 { return s.goroutines })
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// shortError keeps the first line of an error, shortened, for the table.
func shortError(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// loop runs op from workers goroutines under measurement until maxOps
// operations were started (0: no limit) or the configured phase duration has
// passed, and records every operation's latency. i numbers the operations
// from 0; worker is the caller's index. The harness itself does not
// allocate while measuring.
func (p *phase) loop(ctx context.Context, cfg *config, workers int, maxOps int64,
	op func(ctx context.Context, worker int, i int64) error) error {
	return p.loopFor(ctx, cfg, cfg.phase, workers, maxOps, op)
}

// loopFor is loop for dur instead of the configured phase duration.
func (p *phase) loopFor(ctx context.Context, cfg *config, dur time.Duration, workers int, maxOps int64,
	op func(ctx context.Context, worker int, i int64) error) error {
	if cfg.maxOps > 0 && (maxOps == 0 || cfg.maxOps < maxOps) {
		maxOps = cfg.maxOps
	}
	if maxOps <= 0 {
		maxOps = 1 << 62
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hists := make([]*histogram, workers)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		deadline time.Time
	)
	gate := make(chan struct{})
	for w := range workers {
		h := new(histogram)
		hists[w] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			for {
				i := next.Add(1) - 1
				if i >= maxOps || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if t0.After(deadline) {
					return
				}
				if err := op(ctx, w, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				h.record(time.Since(t0))
			}
		}()
	}
	if p.profile != nil {
		dur = max(dur, cfg.profilePhase)
	}
	p.start()
	deadline = time.Now().Add(dur)
	close(gate)
	wg.Wait()
	p.pause()
	if firstErr != nil {
		return firstErr
	}
	for _, h := range hists {
		p.hist.merge(h)
	}
	p.latencies = true
	p.counted = float64(p.hist.n)
	p.stop(p.counted)
	if p.hist.n == 0 {
		return errors.New("no operation completed")
	}
	return nil
}
