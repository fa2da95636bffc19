package leasing

import (
	"context"
	"errors"
	"sync"
	"time"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// revokeValue is what a writer puts to a leasing key to ask its owner to
// give it up.
const revokeValue = "REVOKE"

// errClosed is returned by calls after the close function has run.
var errClosed = errors.New("leasing: KV closed")

// entry is the state of one user key whose leasing key this client owns.
type entry struct {
	lkRev  int64            // creation revision of our leasing key
	cached bool             // whether kv holds the key's current state
	kv     *mvccpb.KeyValue // the key's state; nil if it does not exist
	hdr    *pb.ResponseHeader
}

type leasingKV struct {
	cl   *v3.Client
	kv   v3.KV
	pfx  string
	opts []concurrency.SessionOption

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	session *concurrency.Session // nil while a lost session is replaced
	entries map[string]*entry
	// lastRevoke is the revision of the newest revocation this client
	// has obeyed. A read older than it may have raced with a revocation
	// and is not cached (a later read will be).
	lastRevoke int64
}

// NewKV returns a KV that caches single-key reads of cl under a leasing
// protocol on prefix pfx, and a function that stops it and releases its
// leases. opts configure the session whose lease the leasing keys use.
func NewKV(cl *v3.Client, pfx string, opts ...concurrency.SessionOption) (v3.KV, func(), error) {
	s, err := concurrency.NewSession(cl, opts...)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(cl.Ctx())
	lkv := &leasingKV{
		cl: cl, kv: cl.KV, pfx: pfx, opts: opts,
		ctx: ctx, cancel: cancel,
		session: s,
		entries: make(map[string]*entry),
	}
	// The revocation watch must be in place before any leasing key is
	// taken, or a revocation could go unseen until the lease expires.
	started := make(chan error, 1)
	lkv.wg.Add(2)
	go lkv.watchRevocations(started)
	go lkv.keepSession(s)
	if err := <-started; err != nil {
		lkv.close()
		return nil, nil, err
	}
	var once sync.Once
	return lkv, func() { once.Do(lkv.close) }, nil
}

// close stops the background work and revokes the session's lease, which
// deletes every leasing key this client holds.
func (lkv *leasingKV) close() {
	lkv.cancel()
	lkv.wg.Wait()
	lkv.mu.Lock()
	s := lkv.session
	lkv.session = nil
	lkv.entries = make(map[string]*entry)
	lkv.mu.Unlock()
	if s != nil {
		// Revoking the lease releases every leasing key at once, so that
		// writers need not wait for it to expire; but a cluster that does
		// not answer must not hold the caller for a whole TTL.
		s.Orphan()
		rctx, cancel := context.WithTimeout(context.Background(), closeRevokeTimeout)
		lkv.cl.Revoke(rctx, s.Lease())
		cancel()
	}
}

// closeRevokeTimeout bounds the revocation of the session's lease when the
// KV is closed; a lease not revoked expires after its TTL.
const closeRevokeTimeout = time.Second

// keepSession replaces the session whenever it ends. Every leasing key
// went with the old lease, so the cache is dropped at once.
func (lkv *leasingKV) keepSession(s *concurrency.Session) {
	defer lkv.wg.Done()
	for {
		select {
		case <-lkv.ctx.Done():
			return
		case <-s.Done():
		}
		lkv.mu.Lock()
		lkv.session = nil
		lkv.entries = make(map[string]*entry)
		lkv.mu.Unlock()
		// The lease may still be alive on the server (the session only
		// stopped hearing about it); revoke it so that writers waiting
		// on its leasing keys need not wait for it to expire.
		rctx, rcancel := context.WithTimeout(lkv.ctx, time.Second)
		lkv.cl.Revoke(rctx, s.Lease())
		rcancel()
		for {
			ns, err := concurrency.NewSession(lkv.cl, lkv.opts...)
			if err == nil {
				s = ns
				break
			}
			select {
			case <-lkv.ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
		lkv.mu.Lock()
		if lkv.ctx.Err() != nil {
			lkv.mu.Unlock()
			s.Close()
			return
		}
		lkv.session = s
		lkv.mu.Unlock()
	}
}

// currentLease returns the lease of the live session, NoLease if there is
// none right now.
func (lkv *leasingKV) currentLease() v3.LeaseID {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	if lkv.session == nil {
		return v3.NoLease
	}
	select {
	case <-lkv.session.Done():
		return v3.NoLease
	default:
		return lkv.session.Lease()
	}
}

func (lkv *leasingKV) leasingKey(key string) string { return lkv.pfx + key }

func (lkv *leasingKV) Get(ctx context.Context, key string, opts ...v3.OpOption) (*v3.GetResponse, error) {
	resp, err := lkv.get(ctx, v3.OpGet(key, opts...))
	if err != nil {
		return nil, err
	}
	return resp.Get(), nil
}

// get answers a Get from the cache when it can, and otherwise reads from
// etcd, taking the key's lease (and caching the result) if no other
// client holds it, as the official leasing KV does:
//   - a Get of one key at the latest revision is answered from the cache
//     when the key is cached, whatever its other options (they are applied
//     to the cached pair), serializable or not;
//   - any other Get (a range, a past revision), and a serializable Get of
//     a key not cached, goes to etcd as it is, without taking the key;
//   - otherwise the key is read whole and taken in one transaction, unless
//     another client holds it or the key is bound to a lease of its own
//     (its expiry would go unseen); the caller gets the read with its
//     options applied.
func (lkv *leasingKV) get(ctx context.Context, op v3.Op) (v3.OpResponse, error) {
	if lkv.ctx.Err() != nil {
		return v3.OpResponse{}, errClosed
	}
	single := len(op.RangeBytes()) == 0 && op.Rev() == 0
	key := string(op.KeyBytes())
	if single {
		if resp := lkv.fromCache(key, op); resp != nil {
			return resp.OpResponse(), nil
		}
	}
	if !single || op.IsSerializable() {
		return lkv.kv.Do(ctx, op)
	}
	lease := lkv.currentLease()
	if lease == v3.NoLease || key == "" {
		return lkv.kv.Do(ctx, op)
	}
	lk := lkv.leasingKey(key)
	resp, err := lkv.kv.Txn(ctx).
		If(v3.Compare(v3.CreateRevision(lk), "=", 0), v3.Compare(v3.LeaseValue(key), "=", 0)).
		Then(v3.OpGet(key), v3.OpPut(lk, "", v3.WithLease(lease))).
		Else(v3.OpGet(key), v3.OpGet(lk)).
		Commit()
	if err != nil {
		return v3.OpResponse{}, err
	}
	get := resp.Responses[0].GetResponseRange()
	lkRev := int64(0)
	if resp.Succeeded {
		lkRev = resp.Header.Revision
	} else if kvs := resp.Responses[1].GetResponseRange().GetKvs(); len(kvs) == 1 &&
		v3.LeaseID(kvs[0].Lease) == lease && string(kvs[0].Value) != revokeValue {
		lkRev = kvs[0].CreateRevision
	}
	var kv *mvccpb.KeyValue
	if len(get.GetKvs()) > 0 {
		kv = get.Kvs[0]
	}
	if lkRev != 0 {
		var cached *mvccpb.KeyValue
		if kv != nil {
			cached = copyKV(kv)
		}
		lkv.store(key, lease, lkRev, cached, copyHeader(resp.Header))
	}
	return view(kv, resp.Header, op).OpResponse(), nil
}

// fromCache returns the cached state of key as a Get with op's options
// would see it, nil if key is not cached.
func (lkv *leasingKV) fromCache(key string, op v3.Op) *v3.GetResponse {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	e := lkv.entries[key]
	if e == nil || !e.cached || lkv.session == nil {
		return nil
	}
	return view(e.kv, e.hdr, op)
}

// view returns what a Get of one key with op's options answers when the
// key's state is kv (nil: absent) at hdr: the options that filter
// (count-only, the min and max revisions) may leave no pair, keys-only
// drops the value; a limit or a sort order changes nothing for one key.
// Count is the key's, before the filters, as etcd counts. The result
// shares nothing with kv or hdr.
func view(kv *mvccpb.KeyValue, hdr *pb.ResponseHeader, op v3.Op) *v3.GetResponse {
	resp := &v3.GetResponse{Header: copyHeader(hdr)}
	if kv == nil {
		return resp
	}
	resp.Count = 1
	switch {
	case op.IsCountOnly(),
		op.MinModRev() > kv.ModRevision,
		op.MaxModRev() != 0 && op.MaxModRev() < kv.ModRevision,
		op.MinCreateRev() > kv.CreateRevision,
		op.MaxCreateRev() != 0 && op.MaxCreateRev() < kv.CreateRevision:
		return resp
	}
	c := copyKV(kv)
	if op.IsKeysOnly() {
		c.Value = nil
	}
	resp.Kvs = []*mvccpb.KeyValue{c}
	return resp
}

// store caches kv, read at hdr.Revision under our leasing key created at
// lkRev, unless a newer state is cached already or a revocation newer
// than the read was obeyed in the meantime.
func (lkv *leasingKV) store(key string, lease v3.LeaseID, lkRev int64, kv *mvccpb.KeyValue, hdr *pb.ResponseHeader) {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	if lkv.session == nil || lkv.session.Lease() != lease {
		return // the lease this read was made under is gone
	}
	if lkv.lastRevoke >= hdr.Revision {
		return
	}
	if e := lkv.entries[key]; e != nil && e.cached && e.hdr.Revision >= hdr.Revision {
		return
	}
	lkv.entries[key] = &entry{lkRev: lkRev, cached: true, kv: kv, hdr: hdr}
}

// owned returns the creation revision of our leasing key for key, 0 if
// we hold none.
func (lkv *leasingKV) owned(key string) int64 {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	if e := lkv.entries[key]; e != nil {
		return e.lkRev
	}
	return 0
}

// evict forgets key entirely, including its ownership.
func (lkv *leasingKV) evict(key string) {
	lkv.mu.Lock()
	delete(lkv.entries, key)
	lkv.mu.Unlock()
}

// uncache keeps the ownership of key but drops its cached state.
func (lkv *leasingKV) uncache(key string) {
	lkv.mu.Lock()
	if e := lkv.entries[key]; e != nil {
		e.cached = false
	}
	lkv.mu.Unlock()
}

func copyHeader(h *pb.ResponseHeader) *pb.ResponseHeader {
	if h == nil {
		return nil
	}
	return &pb.ResponseHeader{ClusterId: h.ClusterId, MemberId: h.MemberId, Revision: h.Revision, RaftTerm: h.RaftTerm}
}

func copyKV(kv *mvccpb.KeyValue) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{
		Key:            append([]byte(nil), kv.Key...),
		CreateRevision: kv.CreateRevision,
		ModRevision:    kv.ModRevision,
		Version:        kv.Version,
		Value:          append([]byte(nil), kv.Value...),
		Lease:          kv.Lease,
	}
}

func (lkv *leasingKV) GetStream(ctx context.Context, key string, opts ...v3.OpOption) (v3.GetStreamChan, error) {
	return lkv.kv.GetStream(ctx, key, opts...)
}

func (lkv *leasingKV) Compact(ctx context.Context, rev int64, opts ...v3.CompactOption) (*v3.CompactResponse, error) {
	return lkv.kv.Compact(ctx, rev, opts...)
}
