package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
)

var isolations = []struct {
	name string
	iso  concurrency.Isolation
}{
	{"SerializableSnapshot", concurrency.SerializableSnapshot},
	{"Serializable", concurrency.Serializable},
	{"RepeatableReads", concurrency.RepeatableReads},
	{"ReadCommitted", concurrency.ReadCommitted},
}

// TestSTMTransfersKeepTheTotalUnderContention runs concurrent transfers
// between accounts: every isolation level that detects conflicts must keep
// the sum of the balances.
func TestSTMTransfersKeepTheTotalUnderContention(t *testing.T) {
	for _, lvl := range isolations[:3] {
		t.Run(lvl.name, func(t *testing.T) {
			ctx := sharedcluster.Context(t)
			pfx := sharedcluster.Prefix(t)
			const accounts, initial, workers, transfers = 4, 100, 4, 5
			setup := sharedcluster.Client(t)
			for i := 0; i < accounts; i++ {
				if _, err := setup.Put(ctx, fmt.Sprintf("%sacct%d", pfx, i), strconv.Itoa(initial)); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errc := make(chan error, workers)
			for w := 0; w < workers; w++ {
				cli := sharedcluster.Client(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < transfers; i++ {
						from := fmt.Sprintf("%sacct%d", pfx, (w+i)%accounts)
						to := fmt.Sprintf("%sacct%d", pfx, (w+i+1)%accounts)
						_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
							a, _ := strconv.Atoi(s.Get(from))
							b, _ := strconv.Atoi(s.Get(to))
							s.Put(from, strconv.Itoa(a-7))
							s.Put(to, strconv.Itoa(b+7))
							return nil
						}, concurrency.WithIsolation(lvl.iso), concurrency.WithAbortContext(ctx))
						if err != nil {
							errc <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			resp, err := setup.Get(ctx, pfx+"acct", clientv3.WithPrefix())
			if err != nil {
				t.Fatal(err)
			}
			sum := 0
			for _, kv := range resp.Kvs {
				n, _ := strconv.Atoi(string(kv.Value))
				sum += n
			}
			if sum != accounts*initial {
				t.Errorf("sum of balances = %d, want %d", sum, accounts*initial)
			}
		})
	}
}

// valuesSeenByApply puts pfx+"a" = "1", runs an STM at iso whose apply
// reads a and copies it to b, and calls interfere(key of a) between the
// first attempt's read and its commit. It returns the value each attempt
// of apply saw.
func valuesSeenByApply(t *testing.T, iso concurrency.Isolation, interfere func(ctx context.Context, cli *clientv3.Client, key string) error) []string {
	t.Helper()
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	if _, err := cli.Put(ctx, pfx+"a", "1"); err != nil {
		t.Fatal(err)
	}
	var seen []string
	_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
		v := s.Get(pfx + "a")
		seen = append(seen, v)
		if len(seen) == 1 {
			if err := interfere(ctx, cli, pfx+"a"); err != nil {
				return err
			}
		}
		s.Put(pfx+"b", v)
		return nil
	}, concurrency.WithIsolation(iso))
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// TestSTMRetriesApplyAfterAConflictingWrite writes a key that apply has
// read between apply's read and its commit; conflict-detecting levels run
// apply again and see the new value, ReadCommitted commits at once.
func TestSTMRetriesApplyAfterAConflictingWrite(t *testing.T) {
	for _, lvl := range isolations {
		t.Run(lvl.name, func(t *testing.T) {
			seen := valuesSeenByApply(t, lvl.iso, func(ctx context.Context, cli *clientv3.Client, key string) error {
				_, err := cli.Put(ctx, key, "2")
				return err
			})
			want := []string{"1", "2"}
			if lvl.iso == concurrency.ReadCommitted {
				want = []string{"1"}
			}
			if fmt.Sprint(seen) != fmt.Sprint(want) {
				t.Errorf("apply saw %v, want %v", seen, want)
			}
		})
	}
}

// TestSerializableSnapshotAlsoConflictsOnWrites: a key only written (not
// read) by the transaction and changed by someone else after the
// transaction's first read forces a retry under SerializableSnapshot only.
func TestSerializableSnapshotAlsoConflictsOnWrites(t *testing.T) {
	for _, lvl := range isolations[:2] {
		t.Run(lvl.name, func(t *testing.T) {
			cli := sharedcluster.Client(t)
			ctx := sharedcluster.Context(t)
			pfx := sharedcluster.Prefix(t)
			if _, err := cli.Put(ctx, pfx+"r", "x"); err != nil {
				t.Fatal(err)
			}
			attempts := 0
			_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
				attempts++
				s.Get(pfx + "r")
				if attempts == 1 {
					if _, err := cli.Put(ctx, pfx+"w", "theirs"); err != nil {
						return err
					}
				}
				s.Put(pfx+"w", "mine")
				return nil
			}, concurrency.WithIsolation(lvl.iso))
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if lvl.iso == concurrency.SerializableSnapshot {
				want = 2
			}
			if attempts != want {
				t.Errorf("apply ran %d times, want %d", attempts, want)
			}
		})
	}
}

// TestSerializableReadsComeFromTheFirstReadsRevision: a key first read
// after someone changed it shows the old value under Serializable (and the
// commit then retries), the new one under RepeatableReads.
func TestSerializableReadsComeFromTheFirstReadsRevision(t *testing.T) {
	tests := []struct {
		iso  concurrency.Isolation
		want string
	}{
		{concurrency.Serializable, "old"},
		{concurrency.RepeatableReads, "new"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.iso), func(t *testing.T) {
			cli := sharedcluster.Client(t)
			ctx := sharedcluster.Context(t)
			pfx := sharedcluster.Prefix(t)
			if _, err := cli.Put(ctx, pfx+"b", "old"); err != nil {
				t.Fatal(err)
			}
			var first string
			attempts := 0
			_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
				attempts++
				s.Get(pfx + "a")
				if attempts == 1 {
					if _, err := cli.Put(ctx, pfx+"b", "new"); err != nil {
						return err
					}
					first = s.Get(pfx + "b")
				}
				return nil
			}, concurrency.WithIsolation(tt.iso))
			if err != nil {
				t.Fatal(err)
			}
			if first != tt.want {
				t.Errorf("first attempt read b = %q, want %q", first, tt.want)
			}
		})
	}
}

func TestSTMDelRevAndPrefetch(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	put, err := cli.Put(ctx, pfx+"a", "1")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
		if rev := s.Rev(pfx + "a"); rev != put.Header.Revision {
			return fmt.Errorf("Rev(a) = %d, want %d", rev, put.Header.Revision)
		}
		if rev := s.Rev(pfx + "missing"); rev != 0 {
			return fmt.Errorf("Rev(missing) = %d, want 0", rev)
		}
		if v := s.Get(pfx+"missing", pfx+"a"); v != "" {
			return fmt.Errorf("Get(missing, a) = %q, want \"\" (missing, read first, is the first key read), as the official STM returns", v)
		}
		if v := s.Get(pfx+"unread", pfx+"a"); v != "1" {
			return fmt.Errorf("Get(unread, a) = %q, want 1 (a is the first key already read)", v)
		}
		if v := s.Get(pfx+"x", pfx+"y"); v != "" {
			return fmt.Errorf("Get(x, y) of keys never read = %q, want x's value \"\"", v)
		}
		s.Del(pfx + "a")
		if v := s.Get(pfx + "a"); v != "" {
			return fmt.Errorf("Get(a) after Del = %q, want empty", v)
		}
		s.Put(pfx+"c", "3")
		if v := s.Get(pfx + "c"); v != "3" {
			return fmt.Errorf("Get(c) after Put = %q, want 3", v)
		}
		return nil
	}, concurrency.WithPrefetch(pfx+"a", pfx+"b"))
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Succeeded {
		t.Error("returned response did not succeed")
	}
	got, err := cli.Get(ctx, pfx, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Key) != pfx+"c" {
		t.Errorf("keys after commit = %v, want only %sc", got.Kvs, pfx)
	}
}

func TestSTMApplyErrorAbortsWithoutCommitting(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	boom := errors.New("boom")
	_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
		s.Put(pfx+"k", "v")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("NewSTM error = %v, want apply's error", err)
	}
	resp, err := cli.Get(ctx, pfx+"k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 0 {
		t.Error("a write of an aborted transaction was committed")
	}
}

func TestSTMEndsWithTheAbortContextError(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	applied := false
	_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
		s.Get(sharedcluster.Prefix(t) + "k")
		applied = true
		return nil
	}, concurrency.WithAbortContext(ctx))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("NewSTM with a canceled abort context: error %v, want context.Canceled", err)
	}
	if applied {
		t.Error("apply went on after its read failed")
	}
}

func TestDeprecatedSTMConstructorsRun(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	pfx := sharedcluster.Prefix(t)
	ctors := map[string]func(context.Context, *clientv3.Client, func(concurrency.STM) error) (*clientv3.TxnResponse, error){
		"Repeatable":    concurrency.NewSTMRepeatable,
		"Serializable":  concurrency.NewSTMSerializable,
		"ReadCommitted": concurrency.NewSTMReadCommitted,
	}
	for name, ctor := range ctors {
		resp, err := ctor(ctx, cli, func(s concurrency.STM) error {
			s.Put(pfx+name, s.Get(pfx+name)+"x")
			return nil
		})
		if err != nil || !resp.Succeeded {
			t.Errorf("NewSTM%s: %v", name, err)
		}
	}
}

// A key read and then deleted by someone else has changed: every level
// that checks its reads runs apply again (a deleted key's modification
// revision is 0, no longer the one read).
func TestSTMRetriesApplyWhenAKeyItReadIsDeletedMeanwhile(t *testing.T) {
	for _, lvl := range isolations[:3] {
		t.Run(lvl.name, func(t *testing.T) {
			seen := valuesSeenByApply(t, lvl.iso, func(ctx context.Context, cli *clientv3.Client, key string) error {
				_, err := cli.Delete(ctx, key)
				return err
			})
			if fmt.Sprint(seen) != fmt.Sprint([]string{"1", ""}) {
				t.Errorf("apply saw %q, want [\"1\" \"\"]: the commit after the deletion must fail and apply run again", seen)
			}
		})
	}
}

func TestSTMWithAnUnknownIsolationFailsWithoutRunningApply(t *testing.T) {
	cli := sharedcluster.Client(t)
	ran := false
	_, err := concurrency.NewSTM(cli, func(concurrency.STM) error { ran = true; return nil }, concurrency.WithIsolation(concurrency.Isolation(9)))
	if err == nil || ran {
		t.Errorf("NewSTM with isolation 9: err %v, apply ran %v; want an error and no run (the official client panics)", err, ran)
	}
}
