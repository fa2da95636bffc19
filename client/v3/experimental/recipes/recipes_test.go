package recipe_test

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	recipe "github.com/a74b11dd/etcdkit/client/v3/experimental/recipes"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

func TestBarrierHoldsWaitersUntilReleased(t *testing.T) {
	cli := sharedcluster.Client(t)
	key := sharedcluster.Prefix(t) + "barrier"
	b := recipe.NewBarrier(cli, key)
	if err := b.Wait(); err != nil {
		t.Fatalf("Wait on a barrier not held: %v", err)
	}
	if err := b.Hold(); err != nil {
		t.Fatal(err)
	}
	if err := b.Hold(); !errors.Is(err, recipe.ErrKeyExists) {
		t.Errorf("second Hold: error %v, want ErrKeyExists", err)
	}
	done := make(chan error, 2)
	for i := 0; i < 2; i++ {
		w := recipe.NewBarrier(sharedcluster.Client(t), key)
		go func() { done <- w.Wait() }()
	}
	time.Sleep(200 * time.Millisecond)
	if !blocked(done) {
		t.Fatal("a waiter passed a held barrier")
	}
	if err := b.Release(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			t.Errorf("Wait after Release: %v", err)
		}
	}
}

func TestDoubleBarrierLetsCountProcessesInAndOutTogether(t *testing.T) {
	cli := sharedcluster.Client(t)
	key := sharedcluster.Prefix(t) + "db"
	const count = 3
	barriers := make([]*recipe.DoubleBarrier, count)
	for i := range barriers {
		barriers[i] = recipe.NewDoubleBarrier(newSession(t, cli), key, count)
	}

	entered := make(chan error, count)
	for _, b := range barriers[:count-1] {
		go func() { entered <- b.Enter() }()
	}
	time.Sleep(200 * time.Millisecond)
	if !blocked(entered) {
		t.Fatal("a process entered before all had arrived")
	}
	if err := barriers[count-1].Enter(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < count-1; i++ {
		if err := <-entered; err != nil {
			t.Fatalf("Enter: %v", err)
		}
	}
	extra := recipe.NewDoubleBarrier(newSession(t, cli), key, count)
	if err := extra.Enter(); !errors.Is(err, recipe.ErrTooManyClients) {
		t.Errorf("Enter of a fourth process: error %v, want ErrTooManyClients", err)
	}

	left := make(chan error, count)
	for _, b := range barriers[:count-1] {
		go func() { left <- b.Leave() }()
	}
	time.Sleep(200 * time.Millisecond)
	if !blocked(left) {
		t.Fatal("a process left before all had left")
	}
	if err := barriers[count-1].Leave(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < count-1; i++ {
		if err := <-left; err != nil {
			t.Fatalf("Leave: %v", err)
		}
	}
	noKeysLeftUnder(t, cli, key)
}

func TestQueueIsFIFOAndEachItemGoesToOneConsumer(t *testing.T) {
	cli := sharedcluster.Client(t)
	pfx := sharedcluster.Prefix(t) + "queue"
	q := recipe.NewQueue(cli, pfx)
	for _, v := range []string{"a", "b", "c"} {
		if err := q.Enqueue(v); err != nil {
			t.Fatal(err)
		}
	}
	got := dequeueN(t, q, 3)
	if fmt.Sprint(got) != "[a b c]" {
		t.Errorf("dequeued %v, want [a b c]", got)
	}

	// Consumers block on the empty queue; producers wake them, and every
	// item is consumed exactly once.
	const consumers, items = 3, 12
	results := make(chan string, items)
	var wg sync.WaitGroup
	for i := 0; i < consumers; i++ {
		cq := recipe.NewQueue(sharedcluster.Client(t), pfx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < items/consumers; j++ {
				v, err := cq.Dequeue()
				if err != nil {
					t.Error(err)
					return
				}
				results <- v
			}
		}()
	}
	for i := 0; i < items; i++ {
		if err := q.Enqueue(fmt.Sprintf("item%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(results)
	var all []string
	for v := range results {
		all = append(all, v)
	}
	sort.Strings(all)
	for i, v := range all {
		if want := fmt.Sprintf("item%02d", i); v != want {
			t.Fatalf("consumed %v, want each of item00..item%02d once", all, items-1)
		}
	}
	if len(all) != items {
		t.Errorf("consumed %d items, want %d", len(all), items)
	}
}

func TestPriorityQueueServesLowestPriorityNumberFirstThenFIFO(t *testing.T) {
	cli := sharedcluster.Client(t)
	q := recipe.NewPriorityQueue(cli, sharedcluster.Prefix(t)+"pq")
	in := []struct {
		val string
		pr  uint16
	}{{"low-1", 10}, {"high-1", 1}, {"low-2", 10}, {"high-2", 1}, {"urgent", 0}}
	for _, e := range in {
		if err := q.Enqueue(e.val, e.pr); err != nil {
			t.Fatal(err)
		}
	}
	got := dequeueN(t, q, len(in))
	if want := "[urgent high-1 high-2 low-1 low-2]"; fmt.Sprint(got) != want {
		t.Errorf("dequeued %v, want %s", got, want)
	}
}

func TestRWMutexSharesReadsAndSerializesWrites(t *testing.T) {
	cli := sharedcluster.Client(t)
	pfx := sharedcluster.Prefix(t) + "rw"
	r1 := recipe.NewRWMutex(newSession(t, cli), pfx)
	r2 := recipe.NewRWMutex(newSession(t, cli), pfx)
	w := recipe.NewRWMutex(newSession(t, cli), pfx)
	r3 := recipe.NewRWMutex(newSession(t, cli), pfx)

	if err := r1.RLock(); err != nil {
		t.Fatal(err)
	}
	if err := r2.RLock(); err != nil {
		t.Fatalf("second reader blocked by the first: %v", err)
	}
	wlocked := make(chan error, 1)
	go func() { wlocked <- w.Lock() }()
	time.Sleep(200 * time.Millisecond)
	if !blocked(wlocked) {
		t.Fatal("writer got the lock while readers held it")
	}
	// A reader that asks after the writer waits for it.
	rlocked := make(chan error, 1)
	go func() { rlocked <- r3.RLock() }()
	time.Sleep(200 * time.Millisecond)

	if err := r1.RUnlock(); err != nil {
		t.Fatal(err)
	}
	if err := r2.RUnlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-wlocked; err != nil {
		t.Fatalf("writer Lock: %v", err)
	}
	if !blocked(rlocked) {
		t.Fatal("a later reader got the lock while the writer held it")
	}
	if err := w.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-rlocked; err != nil {
		t.Fatalf("later reader RLock: %v", err)
	}
	if err := r3.RUnlock(); err != nil {
		t.Fatal(err)
	}
}

func TestRWMutexLockOnAnEndedSessionFails(t *testing.T) {
	cli := sharedcluster.Client(t)
	s, err := concurrency.NewSession(cli)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := recipe.NewRWMutex(s, sharedcluster.Prefix(t)+"rw").Lock(); err == nil {
		t.Error("Lock with a revoked session's lease succeeded")
	}
}

func TestWaitEventsMatchesTheSequenceInOrder(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	key := sharedcluster.Prefix(t) + "k"
	resp, err := cli.Put(ctx, key, "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, key, "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, key, "3"); err != nil {
		t.Fatal(err)
	}
	ev, err := recipe.WaitEvents(cli, key, resp.Header.Revision, []mvccpb.Event_EventType{mvccpb.PUT, mvccpb.DELETE, mvccpb.PUT})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != mvccpb.PUT || string(ev.Kv.Value) != "3" {
		t.Errorf("last matched event = %v %s, want PUT 3", ev.Type, ev.Kv.Value)
	}
	ev, err = recipe.WaitPrefixEvents(cli, sharedcluster.Prefix(t), resp.Header.Revision, []mvccpb.Event_EventType{mvccpb.DELETE})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != mvccpb.DELETE {
		t.Errorf("matched %v, want DELETE", ev.Type)
	}
}

// dequeueN takes n items from q, failing t on the first error.
func dequeueN(t *testing.T, q interface{ Dequeue() (string, error) }, n int) []string {
	t.Helper()
	var got []string
	for range n {
		v, err := q.Dequeue()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	return got
}

// noKeysLeftUnder fails t if any key under the barrier key is left once
// everyone has left it.
func noKeysLeftUnder(t *testing.T, cli *clientv3.Client, key string) {
	t.Helper()
	resp, err := cli.Get(sharedcluster.Context(t), key, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("%d keys left under the barrier after everyone left, want 0", resp.Count)
	}
}
