package recipe_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	recipe "github.com/a74b11dd/etcdkit/client/v3/experimental/recipes"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
)

// The official client names unique keys prefix/<time.Now().UnixNano()>
// and sequential ones prefix/<16-digit number>; processes using either
// client must find each other's keys where they look.

// onlyKey returns the single key under prefix, failing t if there is not
// exactly one.
func onlyKey(t *testing.T, cli *clientv3.Client, prefix string) (key string, lease int64) {
	t.Helper()
	resp, err := cli.Get(sharedcluster.Context(t), prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("%d keys under %q, want 1", len(resp.Kvs), prefix)
	}
	return string(resp.Kvs[0].Key), resp.Kvs[0].Lease
}

// uniqueName matches the official client's unique keys under prefix.
func uniqueName(prefix string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "/[0-9]{19}$")
}

func TestQueueUsesTheOfficialKeysAndServesOldestModRevisionFirst(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "q"
	q := recipe.NewQueue(cli, pfx)
	if err := q.Enqueue("mine"); err != nil {
		t.Fatal(err)
	}
	key, lease := onlyKey(t, cli, pfx+"/")
	if !uniqueName(pfx).MatchString(key) || lease != 0 {
		t.Fatalf("Enqueue wrote %q (lease %x); the official client writes %s/<UnixNano> without a lease", key, lease, pfx)
	}
	// An item of another process whose name sorts first but which came
	// later, and a key that only begins with the queue's name.
	if _, err := cli.Put(ctx, pfx+"/1", "later"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, pfx+"-other/1", "beside"); err != nil {
		t.Fatal(err)
	}
	got := dequeueN(t, q, 3)
	if want := "[mine later beside]"; fmt.Sprint(got) != want {
		t.Errorf("dequeued %v, want %s: the official client takes the oldest modification revision among all keys beginning with the queue's name", got, want)
	}
}

func TestPriorityQueueWritesTheOfficialSequenceAndBaseKeys(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "pq"
	q := recipe.NewPriorityQueue(cli, pfx)
	if err := q.Enqueue("first", 3); err != nil {
		t.Fatal(err)
	}
	if key, _ := onlyKey(t, cli, pfx+"/"); key != pfx+"/00003/0000000000000000" {
		t.Fatalf("Enqueue wrote %q, want %s/00003/0000000000000000 as the official client", key, pfx)
	}
	if key, _ := onlyKey(t, cli, "__"+pfx+"/00003"); key != "__"+pfx+"/00003" {
		t.Fatalf("base key %q, want __%s/00003 as the official client", key, pfx)
	}
	// Another process's item numbers the next one.
	if _, err := cli.Put(ctx, pfx+"/00003/0000000000000007", "theirs"); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue("second", 3); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, pfx+"/00003/0000000000000008")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "second" {
		t.Fatalf("after the last key .../0000000000000007, Enqueue did not write .../0000000000000008 = second (got %v)", resp.Kvs)
	}
	got := dequeueN(t, q, 3)
	if want := "[first theirs second]"; fmt.Sprint(got) != want {
		t.Errorf("dequeued %v, want %s", got, want)
	}
}

func TestPriorityQueueEnqueueFailsWhenTheLastKeyIsNoSequenceNumber(t *testing.T) {
	cli := sharedcluster.Client(t)
	pfx := sharedcluster.Prefix(t) + "pq"
	if _, err := cli.Put(sharedcluster.Context(t), pfx+"/00001/x", ""); err != nil {
		t.Fatal(err)
	}
	err := recipe.NewPriorityQueue(cli, pfx).Enqueue("v", 1)
	if err == nil || err.Error() != "expected integer" {
		t.Errorf("Enqueue after %s/00001/x: error %v; the official client fails with fmt's \"expected integer\"", pfx, err)
	}
}

func TestRWMutexQueuesWithTheOfficialKeyNames(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t) + "rw"
	s := newSession(t, cli)
	rw := recipe.NewRWMutex(s, pfx)
	if err := rw.RLock(); err != nil {
		t.Fatal(err)
	}
	if key, lease := onlyKey(t, cli, pfx+"/"); !uniqueName(pfx+"/read").MatchString(key) || clientv3.LeaseID(lease) != s.Lease() {
		t.Errorf("RLock queued %q (lease %x); the official client queues %s/read/<UnixNano> with the session's lease", key, lease, pfx)
	}
	if err := rw.RUnlock(); err != nil {
		t.Fatal(err)
	}
	if err := rw.Lock(); err != nil {
		t.Fatal(err)
	}
	if key, _ := onlyKey(t, cli, pfx+"/"); !uniqueName(pfx + "/write").MatchString(key) {
		t.Errorf("Lock queued %q; the official client queues %s/write/<UnixNano>", key, pfx)
	}
	if err := rw.Unlock(); err != nil {
		t.Fatal(err)
	}

	// A writer of another process holds the lock: a reader waits for it.
	writer := fmt.Sprintf("%s/write/%d", pfx, time.Now().UnixNano())
	if _, err := cli.Put(ctx, writer, ""); err != nil {
		t.Fatal(err)
	}
	locked := make(chan error, 1)
	go func() { locked <- rw.RLock() }()
	time.Sleep(200 * time.Millisecond)
	if !blocked(locked) {
		t.Fatal("RLock passed a writer's key queued before it")
	}
	if _, err := cli.Delete(ctx, writer); err != nil {
		t.Fatal(err)
	}
	if err := <-locked; err != nil {
		t.Fatal(err)
	}
	if err := rw.RUnlock(); err != nil {
		t.Fatal(err)
	}
}

func TestRWMutexUnlockWithoutLockFails(t *testing.T) {
	rw := recipe.NewRWMutex(newSession(t, sharedcluster.Client(t)), sharedcluster.Prefix(t)+"rw")
	if err := rw.Unlock(); err == nil {
		t.Error("Unlock of a never locked RWMutex returned nil; the official client panics, ours must fail")
	}
	if err := rw.RUnlock(); err == nil {
		t.Error("RUnlock of a never locked RWMutex returned nil; the official client panics, ours must fail")
	}
}
