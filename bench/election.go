package main

import (
	"context"
	"sync"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// electionWatch measures how long a cluster has no usable leader after its
// leader is struck: from the fault until one of the other members names a
// new leader in its Status. No linearizable read or write can succeed in
// that window, whatever the client does, so a leader fault's stalls are
// read against it. Status is answered from the member's own raft state,
// without a leader, so it keeps answering through the election; the
// members are asked directly, not through the fault proxies.
type electionWatch struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	at     time.Time // when a new leader was first seen; zero until then
}

// electionPollInterval is how often each member is asked; it is the
// resolution of the measurement.
const electionPollInterval = 5 * time.Millisecond

// watchElection starts asking members, until stop, who leads; a leader
// other than old counts as the new one.
func watchElection(ctx context.Context, members []*etcdtest.Member, old uint64) (*electionWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	e := &electionWatch{cancel: cancel}
	var conns []*grpc.ClientConn
	for _, m := range members {
		conn, err := grpc.NewClient(m.DirectEndpoint(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			cancel()
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		conns = append(conns, conn)
	}
	for _, conn := range conns {
		e.wg.Go(func() {
			defer conn.Close()
			mc := pb.NewMaintenanceClient(conn)
			t := time.NewTicker(electionPollInterval)
			defer t.Stop()
			for {
				sctx, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
				resp, err := mc.Status(sctx, &pb.StatusRequest{})
				scancel()
				if err == nil && resp.Leader != 0 && resp.Leader != old {
					e.seen(time.Now())
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	return e, nil
}

func (e *electionWatch) seen(at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.at.IsZero() || at.Before(e.at) {
		e.at = at
	}
}

// stop ends the watch and returns how long after from a new leader was
// first seen, or false if none was.
func (e *electionWatch) stop(from time.Time) (time.Duration, bool) {
	e.cancel()
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.at.IsZero() {
		return 0, false
	}
	return e.at.Sub(from), true
}
