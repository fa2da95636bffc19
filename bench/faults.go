package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// Fault scenarios: what one member's failure costs a client's users. Each
// scenario starts a 3-member cluster, points the client at every member
// through etcdtest's fault proxies, and runs on it a read loop
// (linearizable Gets of one key: quorum reads in v2) and a write loop (Puts
// of new keys), each operation with its own deadline, and a watch of keys
// that a separate feeder writes to the other members directly (so that the
// watch's figures do not depend on the client's own writes). Then it
// strikes one member — the one serving the watch — holds the fault, heals
// it, and measures, from the fault to the end of the run:
//   - the longest stall of the read loop and of the write loop (the
//     longest time between two successful operations);
//   - the longest watch stall: the longest time between a write's success
//     and the delivery of its event (an event never delivered counts to
//     the end of the wait for it);
//   - the failed reads and writes, and the events the watch lost or
//     delivered twice.
//
// The scenario is written once and run for each API (faultAPI: v3 on etcd
// 3.7, v2 on etcd 3.5) and each of its clients, each on a fresh cluster,
// with the settings a user who changes nothing gets, or, in v2, the ones
// the client's README tells users to set.

// faultClient is what the fault scenarios need from a client.
type faultClient interface {
	// Get reads key (linearizable).
	Get(ctx context.Context, key string) error
	// Put writes key and returns the revision (v3) or index (v2) of the
	// write.
	Put(ctx context.Context, key, val string) (int64, error)
	// Watch watches prefix from now, calling onEvent with each event's
	// revision or index (or an error) from any goroutine. It returns once
	// the watch is sent, with the member serving it, and a stop function
	// that ends it and waits for its goroutine.
	Watch(ctx context.Context, prefix string, onEvent func(rev int64, err error)) (member memberRef, stop func(), err error)
	Close() error
}

// memberRef names a member the way a client learns it: by ID from a v3
// response header, or by the host:port a v2 request went to.
type memberRef struct {
	id       uint64
	endpoint string
}

// member returns c's member that ref names, or nil.
func (ref memberRef) member(c *etcdtest.Cluster) *etcdtest.Member {
	for _, m := range c.Members() {
		if (ref.id != 0 && m.ID() == ref.id) || (ref.endpoint != "" && m.Endpoint() == ref.endpoint) {
			return m
		}
	}
	return nil
}

type faultFactory struct {
	name string
	new  func(ctx context.Context, endpoints []string) (faultClient, error)
}

// faultScenario is one of etcdtest's faults striking the member in role,
// which serves the watch.
type faultScenario struct {
	name  string // the fault's name and the role: "kill-leader"
	title string
	role  etcdtest.Role
	fault etcdtest.Fault
}

func faultScenarios() []faultScenario {
	sc := func(f etcdtest.Fault, r etcdtest.Role) faultScenario {
		return faultScenario{name: f.Name + "-" + r.String(), title: r.String() + " " + f.Title, role: r, fault: f}
	}
	return []faultScenario{
		sc(etcdtest.Kill, etcdtest.Follower),
		sc(etcdtest.Kill, etcdtest.Leader),
		sc(etcdtest.Stop, etcdtest.Follower),
		sc(etcdtest.Blackhole, etcdtest.Follower),
		sc(etcdtest.Isolate, etcdtest.Follower),
		sc(etcdtest.Isolate, etcdtest.Leader),
	}
}

// faultTiming paces a scenario.
type faultTiming struct {
	warm      time.Duration // loops run this long before the fault
	hold      time.Duration // the fault lasts this long
	after     time.Duration // loops run this long after healing
	opTimeout time.Duration // deadline of each read and write
	log       func(format string, args ...any)
}

func defaultFaultTiming() faultTiming {
	return faultTiming{warm: 2 * time.Second, hold: 5 * time.Second, after: 3 * time.Second, opTimeout: 5 * time.Second}
}

// FaultResult is what one client went through in one scenario.
type FaultResult struct {
	API           string  `json:"api"`
	Scenario      string  `json:"scenario"`
	Title         string  `json:"title"`
	Client        string  `json:"client"`
	Silent        bool    `json:"silent"`
	Leader        bool    `json:"leader,omitempty"`
	ReadStallMs   float64 `json:"read_stall_ms"`
	WriteStallMs  float64 `json:"write_stall_ms"`
	WatchStallMs  float64 `json:"watch_stall_ms"`
	Reads         int     `json:"reads"`
	ReadFailures  int     `json:"failed_reads"`
	Writes        int     `json:"writes"`
	WriteFailures int     `json:"failed_writes"`
	WatchLost     int     `json:"watch_lost"`
	WatchDup      int     `json:"watch_duplicated"`
	// ElectionMs, for a leader fault, is how long after the fault another
	// member first named a new leader (electionWatch); zero if none did
	// while the fault lasted, or for a follower fault.
	ElectionMs float64 `json:"election_ms,omitempty"`
	Err        string  `json:"error,omitempty"`
}

// runFaults runs every scenario matching only for every client of api in
// clients (all if empty).
func runFaults(ctx context.Context, ft faultTiming, api faultAPI, only *regexp.Regexp, clients []string) []FaultResult {
	var out []FaultResult
	for _, sc := range faultScenarios() {
		if only != nil && !only.MatchString(sc.name) {
			continue
		}
		for _, f := range api.factories {
			if len(clients) > 0 && !slices.Contains(clients, f.name) {
				continue
			}
			if ctx.Err() != nil {
				return out
			}
			logf(ft, "fault %s %s: %s", api.name, sc.name, f.name)
			r := runFault(ctx, ft, api, sc, f)
			if r.Err != "" {
				logf(ft, "fault %s %s: %s: %s", api.name, sc.name, f.name, r.Err)
			}
			out = append(out, r)
		}
	}
	return out
}

func logf(ft faultTiming, format string, args ...any) {
	if ft.log != nil {
		ft.log(format, args...)
	}
}

// opLog records when the operations of one loop succeeded and failed.
type opLog struct {
	mu       sync.Mutex
	ok       []time.Time
	failures []time.Time
}

func (l *opLog) record(end time.Time, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failures = append(l.failures, end)
	} else {
		l.ok = append(l.ok, end)
	}
}

// stall returns the longest time between two successes that ends after
// from; a loop with no success after its last one until end stalls until
// end.
func (l *opLog) stall(from, end time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var longest time.Duration
	prev := time.Time{}
	for _, t := range append(slices.Clone(l.ok), end) {
		if !prev.IsZero() && t.After(from) {
			longest = max(longest, t.Sub(prev))
		}
		prev = t
	}
	return longest
}

func (l *opLog) counts(from time.Time) (ok, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.ok {
		if !t.Before(from) {
			ok++
		}
	}
	for _, t := range l.failures {
		if !t.Before(from) {
			failed++
		}
	}
	return ok, failed
}

// watchLog records when each revision was delivered.
type watchLog struct {
	mu        sync.Mutex
	delivered map[int64]time.Time
	dup       int
	errs      int
	changed   chan struct{}
}

func newWatchLog() *watchLog {
	return &watchLog{delivered: make(map[int64]time.Time), changed: make(chan struct{}, 1)}
}

func (w *watchLog) onEvent(rev int64, err error) {
	now := time.Now()
	w.mu.Lock()
	if err != nil {
		w.errs++
	} else if _, seen := w.delivered[rev]; seen {
		w.dup++
	} else {
		w.delivered[rev] = now
	}
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// ackedWrite is a write that succeeded: its revision and when it was
// acknowledged.
type ackedWrite struct {
	rev int64
	at  time.Time
}

func runFault(ctx context.Context, ft faultTiming, api faultAPI, sc faultScenario, f faultFactory) (res FaultResult) {
	res = FaultResult{API: api.name, Scenario: sc.name, Title: sc.title, Client: f.name, Silent: sc.fault.Silent, Leader: sc.role == etcdtest.Leader}
	fail := func(err error) FaultResult { res.Err = err.Error(); return res }

	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	clus, err := etcdtest.Start(cctx, append(api.clusterOpts(), etcdtest.WithSize(3))...)
	if err != nil {
		return fail(err)
	}
	defer clus.Close()
	leader, err := clus.WaitLeader(cctx)
	if err != nil {
		return fail(err)
	}
	cli, err := f.new(cctx, api.endpoints(clus))
	if err != nil {
		return fail(err)
	}
	// cli may be replaced while the watch is placed.
	defer func() { cli.Close() }()

	const readKey = "/fault/read"
	const prefix = "/fault/w/"
	const feedPrefix = "/fault/feed/"
	if _, err := cli.Put(cctx, readKey, "v"); err != nil {
		return fail(fmt.Errorf("seeding: %w", err))
	}

	// Place the watch on a member of the scenario's role: it is the one
	// struck. A v3 client spreads its watches over its members; a v2
	// client sends everything to the member it pinned when it was made, so
	// a watch that lands twice on the same wrong member asks for a new
	// client.
	wl := newWatchLog()
	var victim, missed *etcdtest.Member
	var stopWatch func()
	for range 12 {
		attempt := newWatchLog()
		ref, stop, err := cli.Watch(cctx, feedPrefix, attempt.onEvent)
		if err != nil {
			return fail(fmt.Errorf("watch: %w", err))
		}
		m := ref.member(clus)
		if m != nil && (m == leader) == (sc.role == etcdtest.Leader) {
			victim, stopWatch, wl = m, stop, attempt
			break
		}
		stop()
		if m != nil && m == missed {
			fresh, err := f.new(cctx, api.endpoints(clus))
			if err != nil {
				return fail(err)
			}
			cli.Close()
			cli = fresh
			// A fresh client's first picker may hold only the member
			// that connected first: let the others connect, so that the
			// next watch has them all to land on.
			time.Sleep(300 * time.Millisecond)
		}
		missed = m
	}
	if victim == nil {
		return fail(fmt.Errorf("no watch landed on a %s", sc.role))
	}
	defer func() { stopWatch() }()
	var others []*etcdtest.Member
	for _, m := range clus.Members() {
		if m != victim {
			others = append(others, m)
		}
	}
	feeder, err := api.newFeeder(others)
	if err != nil {
		return fail(err)
	}
	defer feeder.Close()

	var reads, writes opLog
	var acked []ackedWrite
	var ackedMu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	loop := func(op func() error, log *opLog) {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			log.record(time.Now(), op())
		}
	}
	wg.Add(2)
	go loop(func() error {
		octx, ocancel := context.WithTimeout(cctx, ft.opTimeout)
		defer ocancel()
		err := cli.Get(octx, readKey)
		if err != nil {
			// A failure may come at once; do not spin.
			time.Sleep(10 * time.Millisecond)
		}
		return err
	}, &reads)
	n := 0
	go loop(func() error {
		octx, ocancel := context.WithTimeout(cctx, ft.opTimeout)
		defer ocancel()
		n++
		_, err := cli.Put(octx, fmt.Sprintf("%s%06d", prefix, n), "v")
		if err != nil {
			time.Sleep(10 * time.Millisecond)
		}
		return err
	}, &writes)
	var feeds opLog
	fed := 0
	wg.Add(1)
	go loop(func() error {
		octx, ocancel := context.WithTimeout(cctx, ft.opTimeout)
		defer ocancel()
		fed++
		rev, err := feeder.Put(octx, fmt.Sprintf("%s%06d", feedPrefix, fed), "v")
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			return err
		}
		ackedMu.Lock()
		acked = append(acked, ackedWrite{rev, time.Now()})
		ackedMu.Unlock()
		time.Sleep(5 * time.Millisecond)
		return nil
	}, &feeds)

	sleepCtx(cctx, ft.warm)
	var election *electionWatch
	if sc.role == etcdtest.Leader {
		if election, err = watchElection(cctx, others, victim.ID()); err != nil {
			close(stop)
			wg.Wait()
			return fail(err)
		}
	}
	from := time.Now()
	if err := sc.fault.Strike(victim); err != nil {
		close(stop)
		wg.Wait()
		if election != nil {
			election.stop(from)
		}
		return fail(fmt.Errorf("fault: %w", err))
	}
	sleepCtx(cctx, ft.hold)
	if election != nil {
		if d, ok := election.stop(from); ok {
			res.ElectionMs = ms(d)
		}
	}
	healErr := sc.fault.Heal(victim)
	sleepCtx(cctx, ft.after)
	close(stop)
	wg.Wait()
	end := time.Now()
	if healErr != nil {
		return fail(fmt.Errorf("heal: %w", healErr))
	}

	// Give the watch time to deliver what was written before the end.
	ackedMu.Lock()
	ws := slices.Clone(acked)
	ackedMu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for {
		wl.mu.Lock()
		missing := 0
		for _, w := range ws {
			if _, ok := wl.delivered[w.rev]; !ok {
				missing++
			}
		}
		wl.mu.Unlock()
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-wl.changed:
		case <-time.After(100 * time.Millisecond):
		case <-cctx.Done():
		}
	}

	res.ReadStallMs = ms(reads.stall(from, end))
	res.WriteStallMs = ms(writes.stall(from, end))
	res.Reads, res.ReadFailures = reads.counts(from)
	res.Writes, res.WriteFailures = writes.counts(from)
	wl.mu.Lock()
	defer wl.mu.Unlock()
	var watchStall time.Duration
	for _, w := range ws {
		at, ok := wl.delivered[w.rev]
		if !ok {
			res.WatchLost++
			at = deadline
		}
		if at.After(from) || !ok {
			watchStall = max(watchStall, at.Sub(w.at))
		}
	}
	res.WatchStallMs = ms(watchStall)
	res.WatchDup = wl.dup
	return res
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
