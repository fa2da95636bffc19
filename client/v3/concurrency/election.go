package concurrency

import (
	"context"
	"errors"
	"fmt"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Errors of Election.
var (
	ErrElectionNotLeader = errors.New("election: not leader")
	ErrElectionNoLeader  = errors.New("election: no leader")
)

// Election is a leader election on a key prefix. Each campaigning session
// puts one key under the prefix; the session whose key is oldest leads and
// the key's value is the leader's proclamation. An Election value is used
// by one goroutine at a time.
type Election struct {
	session   *Session
	keyPrefix string

	leaderKey     string
	leaderRev     int64
	leaderSession *Session
	hdr           *pb.ResponseHeader

	// unresigned is the candidate key of a Resign that failed: its delete
	// may still be applied, late (see finishResign).
	unresigned release
}

// NewElection returns an election on prefix pfx for session s.
func NewElection(s *Session, pfx string) *Election {
	return &Election{session: s, keyPrefix: pfx + "/"}
}

// ResumeElection returns an election on pfx whose leadership s already
// holds through leaderKey, created at revision leaderRev (as Key and Rev
// reported before), for example after a process restart that kept the
// lease (see WithLease).
func ResumeElection(s *Session, pfx string, leaderKey string, leaderRev int64) *Election {
	return &Election{
		session:       s,
		keyPrefix:     pfx + "/",
		leaderKey:     leaderKey,
		leaderRev:     leaderRev,
		leaderSession: s,
	}
}

// Campaign enters the election with value val and blocks until this
// session leads, ctx ends, or the session's lease is lost (an orphaned
// session's lease lives on, and its candidacy with it). A session that is already
// a candidate keeps its place and proclaims val; after a Resign that
// failed, that Resign is finished first and the session queues anew (see
// the package documentation). If the session's lease is lost while
// waiting, Campaign returns ErrSessionExpired rather than leadership it no
// longer has. On failure the candidacy is withdrawn.
func (e *Election) Campaign(ctx context.Context, val string) error {
	s := e.session
	client := s.Client()
	if err := e.unresigned.finish(ctx, client); err != nil {
		return err
	}
	k := fmt.Sprintf("%s%x", e.keyPrefix, s.Lease())
	resp, err := client.Txn(ctx).
		If(v3.Compare(v3.CreateRevision(k), "=", 0)).
		Then(v3.OpPut(k, val, v3.WithLease(s.Lease()))).
		Else(v3.OpGet(k)).
		Commit()
	if err != nil {
		return err
	}
	e.leaderKey, e.leaderRev, e.leaderSession = k, resp.Header.Revision, s
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			e.leaderKey, e.leaderSession = "", nil
			return fmt.Errorf("concurrency: candidate key %q vanished inside a transaction", k)
		}
		e.leaderRev = kvs[0].CreateRevision
		if string(kvs[0].Value) != val {
			if err := e.Proclaim(ctx, val); err != nil {
				e.withdraw()
				return err
			}
		}
	}

	if _, err := waitDeletes(ctx, client, e.keyPrefix, e.leaderRev-1, s.lost()); err != nil {
		e.withdraw()
		return err
	}
	gresp, err := client.Get(ctx, k)
	if err != nil {
		e.withdraw()
		return err
	}
	if len(gresp.Kvs) == 0 || gresp.Kvs[0].CreateRevision != e.leaderRev {
		e.leaderKey, e.leaderSession = "", nil
		return ErrSessionExpired
	}
	// The header is the queuing transaction's, as the official client
	// reports it.
	e.hdr = resp.Header
	return nil
}

// withdraw removes the candidate key after a failed Campaign so that a
// candidate nobody waits on never becomes leader. It uses the client's
// context because the caller's may be what failed.
func (e *Election) withdraw() {
	if sessionLost(e.session) {
		// The key goes away with the session's lease.
		e.leaderKey, e.leaderSession = "", nil
		return
	}
	ctx, cancel := context.WithTimeout(e.session.Client().Ctx(), cleanupTimeout)
	defer cancel()
	e.Resign(ctx)
}

// Proclaim replaces the leader's value without a new election. It returns
// ErrElectionNotLeader if this election does not hold leadership.
func (e *Election) Proclaim(ctx context.Context, val string) error {
	if e.leaderSession == nil {
		return ErrElectionNotLeader
	}
	resp, err := e.session.Client().Txn(ctx).
		If(v3.Compare(v3.CreateRevision(e.leaderKey), "=", e.leaderRev)).
		Then(v3.OpPut(e.leaderKey, val, v3.WithLease(e.leaderSession.Lease()))).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		e.leaderKey = ""
		return ErrElectionNotLeader
	}
	e.hdr = resp.Header
	return nil
}

// Resign gives up leadership (or candidacy) so that the next candidate
// can lead. It does nothing if this election holds neither.
func (e *Election) Resign(ctx context.Context) (err error) {
	if e.leaderSession == nil {
		return nil
	}
	resp, err := e.session.Client().Txn(ctx).
		If(v3.Compare(v3.CreateRevision(e.leaderKey), "=", e.leaderRev)).
		Then(v3.OpDelete(e.leaderKey)).
		Commit()
	if err == nil {
		e.hdr = resp.Header
	} else {
		e.unresigned = release{key: e.leaderKey, rev: e.leaderRev}
	}
	e.leaderKey = ""
	e.leaderSession = nil
	return err
}

// Leader returns the current leader's key and value, or
// ErrElectionNoLeader if there is none.
func (e *Election) Leader(ctx context.Context) (*v3.GetResponse, error) {
	resp, err := e.session.Client().Get(ctx, e.keyPrefix, v3.WithFirstCreate()...)
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		return nil, ErrElectionNoLeader
	}
	return resp, nil
}

// Observe returns a channel that receives the leader's key and value
// whenever leadership or the leader's value changes, in order. A slow
// reader may miss intermediate values but always receives the latest.
// The channel closes when ctx ends or watching fails for good.
func (e *Election) Observe(ctx context.Context) <-chan *v3.GetResponse {
	ch := make(chan *v3.GetResponse)
	go e.observe(ctx, ch)
	return ch
}

func (e *Election) observe(ctx context.Context, ch chan<- *v3.GetResponse) {
	defer close(ch)
	client := e.session.Client()
	send := func(hdr *pb.ResponseHeader, kv *mvccpb.KeyValue) bool {
		select {
		case ch <- &v3.GetResponse{Header: hdr, Kvs: []*mvccpb.KeyValue{kv}}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		resp, err := client.Get(ctx, e.keyPrefix, v3.WithFirstCreate()...)
		if err != nil {
			return
		}
		var kv *mvccpb.KeyValue
		hdr := resp.Header
		if len(resp.Kvs) > 0 {
			kv = resp.Kvs[0]
		} else {
			var ok bool
			hdr, kv, ok = e.waitFirstCandidate(ctx, client, resp.Header.Revision)
			if !ok {
				return
			}
			if kv == nil {
				continue // history compacted: read the state again
			}
		}
		if !send(hdr, kv) {
			return
		}
		if !e.followLeader(ctx, client, kv, send) {
			return
		}
	}
}

// waitFirstCandidate watches the empty election from after rev for the
// first key put under the prefix: being first, it is the leader. It
// returns ok=false when observing must stop, and kv=nil with ok=true when
// the watch was compacted and the caller should read again.
func (e *Election) waitFirstCandidate(ctx context.Context, client *v3.Client, rev int64) (*pb.ResponseHeader, *mvccpb.KeyValue, bool) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := client.Watch(wctx, e.keyPrefix, v3.WithPrefix(), v3.WithRev(rev+1))
	for wr := range wch {
		if wr.CompactRevision != 0 {
			return nil, nil, true
		}
		if wr.Err() != nil {
			return nil, nil, false
		}
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.PUT {
				// The leader is reported as of its creation, as the
				// official client reports it.
				h := wr.Header
				hdr := &pb.ResponseHeader{ClusterId: h.GetClusterId(), MemberId: h.GetMemberId(), RaftTerm: h.GetRaftTerm(), Revision: ev.Kv.ModRevision}
				return hdr, ev.Kv, true
			}
		}
	}
	return nil, nil, false
}

// followLeader sends the leader's new values until its key is deleted
// (returning true: elect the next one) or observing must stop (false).
func (e *Election) followLeader(ctx context.Context, client *v3.Client, leader *mvccpb.KeyValue, send func(*pb.ResponseHeader, *mvccpb.KeyValue) bool) bool {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := client.Watch(wctx, string(leader.Key), v3.WithRev(leader.ModRevision+1))
	for wr := range wch {
		if wr.CompactRevision != 0 {
			return true
		}
		if wr.Err() != nil {
			return false
		}
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.DELETE {
				return true
			}
			if !send(wr.Header, ev.Kv) {
				return false
			}
		}
	}
	return false
}

// Key returns the leader key while this election leads or campaigns, ""
// otherwise.
func (e *Election) Key() string { return e.leaderKey }

// Rev returns the creation revision of the leader key while this election
// leads or campaigns.
func (e *Election) Rev() int64 { return e.leaderRev }

// Header returns the header of the last successful election request.
func (e *Election) Header() *pb.ResponseHeader { return e.hdr }
