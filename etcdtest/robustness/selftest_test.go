package robustness

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// staleReads serves, now and then, a linearizable read of a key with the
// first value it ever read of it, at the current revision: a stale read.
type staleReads struct {
	Client
	mu    sync.Mutex
	first map[string]Result
	n     int
}

func (c *staleReads) Do(ctx context.Context, req Request) (Result, error) {
	res, err := c.Client.Do(ctx, req)
	if err != nil || req.Kind != Get || req.Serializable {
		return res, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	old, ok := c.first[req.Key]
	if !ok {
		c.first[req.Key] = res
		return res, nil
	}
	if c.n%20 == 0 && old.Found && (old.Value != res.Value || !res.Found) {
		old.Revision = res.Revision
		return old, nil
	}
	return res, nil
}

// lossyWatches drops, from every watch, the events of every tenth write of
// worker 3: events no watch delivers.
type lossyWatches struct{ Client }

func (c lossyWatches) Watch(ctx context.Context, req WatchRequest) <-chan WatchResponse {
	in := c.Client.Watch(ctx, req)
	out := make(chan WatchResponse)
	go func() {
		defer close(out)
		for resp := range in {
			kept := resp.Events[:0:0]
			for _, e := range resp.Events {
				if !strings.HasPrefix(e.Value, "w3-") || !strings.HasSuffix(e.Value, "0") {
					kept = append(kept, e)
				}
			}
			if len(resp.Events) > 0 && len(kept) == 0 {
				continue
			}
			resp.Events = kept
			out <- resp
		}
	}()
	return out
}

// TestTheCheckersCatchAClientThatIsWrong runs clients that break a
// guarantee on purpose, without faults, and expects the report to say so:
// the checkers are not vacuous.
func TestTheCheckersCatchAClientThatIsWrong(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster for 12 s")
	}
	c := etcdtest.NewCluster(t)
	cfg := Config{Seed: 7, Duration: 6 * time.Second, NoFaults: true, Clients: 1, Workers: 6, Lockers: 2}
	stale := Subject{Name: "stale", New: func(ctx context.Context, eps []string) (Client, error) {
		cli, err := Etcdkit(ctx, eps)
		if err != nil {
			return nil, err
		}
		return &staleReads{Client: cli, first: map[string]Result{}}, nil
	}}
	lossy := Subject{Name: "lossy", New: func(ctx context.Context, eps []string) (Client, error) {
		cli, err := Etcdkit(ctx, eps)
		if err != nil {
			return nil, err
		}
		return lossyWatches{cli}, nil
	}}
	reports, err := Run(t.Context(), c, cfg, stale, lossy)
	if err != nil {
		t.Fatal(err)
	}
	if v := reports[0].Linearizability.Verdict; v != porcupine.Illegal {
		t.Errorf("a client serving stale reads: linearizability %s, want %s\n%v", v, porcupine.Illegal, reports[0])
	}
	if !hasGuarantee(reports[1].Violations, "watch/reliable") {
		t.Errorf("a client losing watch events: no watch/reliable violation\n%v", reports[1])
	}
}

func hasGuarantee(vs []Violation, g string) bool {
	for _, v := range vs {
		if v.Guarantee == g {
			return true
		}
	}
	return false
}
