package client

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// The tests in this file each break one member of a 3-member cluster while a
// client preferring that member keeps reading and watching, and check what
// the client's users would see: no failed read, no read older than what was
// already written (quorum reads) or already read (plain reads), and a watch
// that delivers every event once, in order. Each logs the longest stall it
// saw; run them with -v to read those:
//
//	go test -race -run 'TestFault' -v ./client/v2/
//
// The client under test has no HeaderTimeoutPerRequest: it relies on the
// deadline it derives for reads and on its health probe.

// maxStall is a generous bound on any read or watch delivery, to catch a hang
// rather than to measure: the measured stalls are logged.
const maxStall = 10 * time.Second

// faultLoad is the traffic of one fault test: a writer on a client of its
// own, and, on the client under test, a plain reader, a quorum reader and a
// watcher of everything the writer writes.
type faultLoad struct {
	t      *testing.T
	dir    string
	writer KeysAPI
	keys   KeysAPI // on the client under test

	stop    chan struct{}
	wg      sync.WaitGroup // readers and watcher
	writing sync.WaitGroup
	mu      sync.Mutex
	written []written       // acknowledged writes, in order
	tried   map[string]bool // keys the writer tried to write
	ackedAt map[uint64]time.Time
	acked   atomic.Int64 // highest acknowledged key number
	seen    atomic.Int64 // highest key number a completed read found
	failed  []string     // what went wrong, for the report

	readStall   [2]atomic.Int64 // longest plain and quorum Get, in ns
	watchStall  atomic.Int64    // longest delay from a write's ack to its event
	writeErrors atomic.Int64

	events   []uint64 // modified indexes the watcher received
	lastSeen atomic.Uint64
	cancelW  context.CancelFunc
}

type written struct {
	n     int64
	index uint64
}

func (l *faultLoad) keyOf(n int64) string { return fmt.Sprintf("%s/%08d", l.dir, n) }

func (l *faultLoad) fail(format string, args ...any) {
	l.mu.Lock()
	l.failed = append(l.failed, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

// startFaultLoad starts the traffic; under is the client under test, urls
// are the cluster's.
func startFaultLoad(t *testing.T, under Client, urls []string) *faultLoad {
	t.Helper()
	wc, _ := newClient(t, urls, Config{HeaderTimeoutPerRequest: time.Second})
	l := &faultLoad{
		t: t, dir: key(t, "d"), writer: NewKeysAPI(wc), keys: NewKeysAPI(under),
		stop: make(chan struct{}), tried: map[string]bool{}, ackedAt: map[uint64]time.Time{},
	}
	ctx := testCtx(t)
	first, err := l.writer.Set(ctx, l.keyOf(0), "v", nil)
	if err != nil {
		t.Fatal(err)
	}
	l.tried[l.keyOf(0)] = true
	// A quorum read makes the client under test know of the first key, so
	// that its plain reads may expect it too.
	if _, err := l.keys.Get(ctx, l.keyOf(0), &GetOptions{Quorum: true}); err != nil {
		t.Fatal(err)
	}

	wctx, cancel := context.WithCancel(context.Background())
	l.cancelW = cancel
	w := l.keys.Watcher(l.dir, &WatcherOptions{AfterIndex: first.Node.ModifiedIndex, Recursive: true})
	l.wg.Add(3)
	l.writing.Add(1)
	go l.watch(wctx, w)
	go l.write()
	go l.read(false)
	go l.read(true)
	return l
}

func (l *faultLoad) write() {
	defer l.writing.Done()
	for n := int64(1); ; n++ {
		select {
		case <-l.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
		k := l.keyOf(n)
		l.mu.Lock()
		l.tried[k] = true
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := l.writer.Set(ctx, k, "v", nil)
		cancel()
		if err != nil {
			// The cluster may refuse writes while it elects a leader,
			// and a write that timed out may still apply: the watcher
			// accepts its event, but nothing expects it.
			l.writeErrors.Add(1)
			continue
		}
		l.mu.Lock()
		l.written = append(l.written, written{n, resp.Node.ModifiedIndex})
		l.ackedAt[resp.Node.ModifiedIndex] = time.Now()
		l.mu.Unlock()
		l.acked.Store(n)
	}
}

// read Gets the newest key it may expect to exist, over and over: for a
// quorum read, the newest acknowledged write; for a plain read, the newest
// key a completed read on the same client already found.
func (l *faultLoad) read(quorum bool) {
	defer l.wg.Done()
	kind := "plain"
	if quorum {
		kind = "quorum"
	}
	for {
		select {
		case <-l.stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
		n := l.seen.Load()
		if quorum {
			n = l.acked.Load()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := l.keys.Get(ctx, l.keyOf(n), &GetOptions{Quorum: quorum})
		took := time.Since(start)
		cancel()
		stall := &l.readStall[0]
		if quorum {
			stall = &l.readStall[1]
		}
		if int64(took) > stall.Load() {
			stall.Store(int64(took))
		}
		switch {
		case IsKeyNotFound(err):
			l.fail("%s Get of %s, already written, found nothing: an outdated read", kind, l.keyOf(n))
		case err != nil:
			l.fail("%s Get of %s failed after %v: %v", kind, l.keyOf(n), took, err)
		default:
			for {
				s := l.seen.Load()
				if n <= s || l.seen.CompareAndSwap(s, n) {
					break
				}
			}
		}
	}
}

func (l *faultLoad) watch(ctx context.Context, w Watcher) {
	defer l.wg.Done()
	for {
		resp, err := w.Next(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.fail("watch: %v", err)
			return
		}
		now := time.Now()
		idx := resp.Node.ModifiedIndex
		l.mu.Lock()
		l.events = append(l.events, idx)
		ok := l.tried[resp.Node.Key]
		at, acked := l.ackedAt[idx]
		l.mu.Unlock()
		if !ok {
			l.fail("watch delivered %s, which nobody wrote", resp.Node.Key)
		}
		if acked && int64(now.Sub(at)) > l.watchStall.Load() {
			l.watchStall.Store(int64(now.Sub(at)))
		}
		l.lastSeen.Store(idx)
	}
}

// finish stops the traffic once the watcher has caught up with the last
// acknowledged write, checks what it saw, and logs the stalls.
func (l *faultLoad) finish() {
	t := l.t
	t.Helper()
	close(l.stop)
	l.writing.Wait()
	l.mu.Lock()
	var last uint64
	if len(l.written) > 0 {
		last = l.written[len(l.written)-1].index
	}
	l.mu.Unlock()
	deadline := time.Now().Add(maxStall)
	for l.lastSeen.Load() < last && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	l.cancelW()
	l.wg.Wait()

	for _, f := range l.failed {
		t.Error(f)
	}
	if !slices.IsSorted(l.events) || len(slices.Compact(slices.Clone(l.events))) != len(l.events) {
		t.Errorf("watched indexes %v are not strictly increasing: an event came twice or out of order", l.events)
	}
	var lost []uint64
	for _, w := range l.written {
		if _, found := slices.BinarySearch(l.events, w.index); !found {
			lost = append(lost, w.index)
		}
	}
	if len(lost) > 0 {
		t.Errorf("the watch lost the events at indexes %v (of %d written)", lost, len(l.written))
	}
	plain, quorum := time.Duration(l.readStall[0].Load()), time.Duration(l.readStall[1].Load())
	watch := time.Duration(l.watchStall.Load())
	for what, d := range map[string]time.Duration{"plain read": plain, "quorum read": quorum, "watch event": watch} {
		if d > maxStall {
			t.Errorf("longest %s stall %v, want at most %v", what, d, maxStall)
		}
	}
	t.Logf("longest stall: plain read %v, quorum read %v, watch event %v (%d writes acknowledged, %d failed, %d events)",
		plain.Round(time.Millisecond), quorum.Round(time.Millisecond), watch.Round(time.Millisecond),
		len(l.written), l.writeErrors.Load(), len(l.events))
}

// faultCluster starts a 3-member cluster and a client under test whose
// preferred endpoint is the member in role.
func faultCluster(t *testing.T, role etcdtest.Role) (*etcdtest.Cluster, *etcdtest.Member, Client) {
	t.Helper()
	c := newV2Cluster(t, 3)
	m, err := c.MemberIn(testCtx(t), role)
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := clientPinnedTo(t, m.ClientURL(), c.ClientURLs(), Config{})
	return c, m, cl
}

// during runs the load for a while before, during and after a fault.
func during(t *testing.T, c *etcdtest.Cluster, under Client, fault, heal func()) {
	t.Helper()
	l := startFaultLoad(t, under, c.ClientURLs())
	time.Sleep(500 * time.Millisecond)
	fault()
	time.Sleep(3 * time.Second)
	if heal != nil {
		heal()
	}
	time.Sleep(time.Second)
	l.finish()
}

// strikeOf and healOf return, for during, etcdtest's fault f on m and its
// undoing.
func strikeOf(t *testing.T, m *etcdtest.Member, f etcdtest.Fault) func() {
	return func() {
		if err := f.Strike(m); err != nil {
			t.Fatalf("%s %s: %v", f.Name, m.Name(), err)
		}
	}
}

func healOf(t *testing.T, m *etcdtest.Member, f etcdtest.Fault) func() {
	return func() {
		if err := f.Heal(m); err != nil {
			t.Fatalf("healing %s of %s: %v", f.Name, m.Name(), err)
		}
	}
}

func TestFaultStoppedPreferredMemberStallsNoRead(t *testing.T) {
	c, m, cl := faultCluster(t, etcdtest.Follower)
	during(t, c, cl, strikeOf(t, m, etcdtest.Stop), healOf(t, m, etcdtest.Stop))
}

func TestFaultBlackholedPreferredMemberStallsNoRead(t *testing.T) {
	c, m, cl := faultCluster(t, etcdtest.Leader)
	during(t, c, cl, strikeOf(t, m, etcdtest.Blackhole), healOf(t, m, etcdtest.Blackhole))
}

func TestFaultIsolatedPreferredFollowerServesNothingOutdated(t *testing.T) {
	c, m, cl := faultCluster(t, etcdtest.Follower)
	during(t, c, cl, strikeOf(t, m, etcdtest.Isolate), healOf(t, m, etcdtest.Isolate))
}

func TestFaultKilledPreferredFollowerStallsNoRead(t *testing.T) {
	c, m, cl := faultCluster(t, etcdtest.Follower)
	during(t, c, cl, strikeOf(t, m, etcdtest.Kill), nil)
}

// Quorum reads wait here for the election that a leader's death causes,
// which etcd's default timing makes last one to two seconds.
func TestFaultKilledPreferredLeaderStallsNoRead(t *testing.T) {
	c, m, cl := faultCluster(t, etcdtest.Leader)
	during(t, c, cl, strikeOf(t, m, etcdtest.Kill), nil)
}

func TestFaultLeaderChangesStallNoRead(t *testing.T) {
	c, m, cl := faultCluster(t, etcdtest.Leader)
	during(t, c, cl, func() {
		// Leadership moves away from the preferred member, then on to
		// the third.
		for range 2 {
			moveLeader(t, c)
			time.Sleep(time.Second)
		}
	}, nil)
	if l := c.Leader(); l == m {
		t.Fatalf("%s still leads after two leadership transfers", m.Name())
	}
}

func TestFaultRollingRestartStallsNoRead(t *testing.T) {
	c, m, cl := faultCluster(t, etcdtest.Follower)
	order := []*etcdtest.Member{m}
	for _, o := range c.Members() {
		if o != m {
			order = append(order, o)
		}
	}
	during(t, c, cl, func() {
		for _, o := range order {
			if err := o.Restart(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}, nil)
}

// moveLeader transfers leadership from the current leader to the next
// member.
func moveLeader(t *testing.T, c *etcdtest.Cluster) {
	t.Helper()
	ctx := testCtx(t)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.MoveLeader(ctx, c.NextMember(leader)); err != nil {
		t.Fatal(err)
	}
}
