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
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// revokeValue is what a writer puts to a leasing key to ask its owner to
// give it up.
const revokeValue = "REVOKE"

const (
	// acquireBackoff is how long after giving up the lease of a key a
	// client reads the key from etcd instead of taking the lease again,
	// as the official leasing KV does. Without it a client that keeps
	// reading a key would take its lease back as soon as a writer had
	// revoked it, and could starve the writer.
	acquireBackoff = 2 * time.Second

	// closeRevokeTimeout bounds the revocation of the session's lease when
	// the KV is closed; a lease not revoked expires after its TTL.
	closeRevokeTimeout = time.Second
)

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

	// ctx ends when the KV is closed or the client's context ends; from
	// then on every call passes through to etcd (see closed).
	ctx    context.Context
	cancel context.CancelFunc
	// sessCancel ends the context sessions are created and kept alive
	// under (unless the caller's options name another), so that closing
	// interrupts the creation of a replacement session, which would
	// otherwise wait for etcd as long as it is out of reach.
	sessCancel context.CancelFunc
	wg         sync.WaitGroup
	// watchingc is closed once the revocation watch is in place; no key
	// is taken before, or a revocation could go unseen.
	watchingc chan struct{}

	mu      sync.Mutex
	session *concurrency.Session // nil until there is one, while a lost one is replaced, and once closed
	// retired is the lease of the last session this client ended (lost
	// or closed). Its leasing keys that outlived it (the revocation
	// failed) guard nothing any more: a write deletes them instead of
	// waiting for the lease to expire.
	retired v3.LeaseID
	entries map[string]*entry
	// lastRevoke is the revision of the newest revocation this client
	// has obeyed. A read older than it may have raced with a revocation
	// and is not cached (a later read will be).
	lastRevoke int64
	// gaveUp holds when this client last gave up the lease of a key; the
	// key is not taken again before acquireBackoff has passed.
	gaveUp map[string]time.Time
	// hdr is the newest header of a response the cache took a state from;
	// transactions answered from the cache carry it.
	hdr *pb.ResponseHeader
	// doubts counts the writes to owned keys whose outcome is unknown: the
	// call failed, but the write may have been applied, then or later. A
	// read or write that started before such a failure does not update
	// the cache, since the failed write may have come after it.
	doubts uint64
}

// NewKV returns a KV that caches single-key reads of cl under a leasing
// protocol on prefix pfx, and a function that stops it and releases its
// leases. opts configure the session whose lease the leasing keys use.
//
// As the official NewKV, it waits until it has a session, trying again
// for as long as creating one fails, and only an end of the client's
// context stops it; it also waits until it watches for revocations,
// unless reading the leasing keys fails for a reason that will not go
// away (that watch is then retried in the background, and keys are not
// taken until it is in place). The KV and the function are never nil,
// even with an error (the client's context's), and the function may be
// called any number of times: the first call ends everything NewKV
// started. Once closed, the KV answers every call from etcd, without its
// cache (see closed).
func NewKV(cl *v3.Client, pfx string, opts ...concurrency.SessionOption) (v3.KV, func(), error) {
	sessCtx, sessCancel := context.WithCancel(cl.Ctx())
	// The caller's options come last, so that a context of theirs wins.
	sopts := append([]concurrency.SessionOption{concurrency.WithContext(sessCtx)}, opts...)
	ctx, cancel := context.WithCancel(cl.Ctx())
	lkv := &leasingKV{
		cl: cl, kv: cl.KV, pfx: pfx, opts: sopts,
		ctx: ctx, cancel: cancel, sessCancel: sessCancel,
		watchingc: make(chan struct{}),
		entries:   make(map[string]*entry),
		gaveUp:    make(map[string]time.Time),
	}
	var once sync.Once
	closeKV := func() { once.Do(lkv.close) }
	hasSession, settled := make(chan struct{}), make(chan struct{})
	lkv.wg.Add(2)
	go lkv.watchRevocations(settled)
	go lkv.keepSession(hasSession)
	for _, c := range []chan struct{}{hasSession, settled} {
		select {
		case <-c:
		case <-ctx.Done():
			err := ctx.Err()
			closeKV()
			return lkv, closeKV, err
		}
	}
	return lkv, closeKV, nil
}

// close stops the background work and revokes the session's lease, which
// deletes every leasing key this client holds. It does not wait for etcd
// longer than closeRevokeTimeout.
func (lkv *leasingKV) close() {
	lkv.cancel()
	lkv.sessCancel()
	lkv.wg.Wait()
	lkv.mu.Lock()
	s := lkv.session
	lkv.session = nil
	if s != nil {
		lkv.retired = s.Lease()
	}
	lkv.entries = make(map[string]*entry)
	lkv.mu.Unlock()
	if s != nil {
		lkv.release(s)
	}
}

// closed reports whether the KV was closed, or its client's context
// ended. A closed KV no longer hears revocations, so it neither serves
// from nor fills its cache, nor takes keys; but it still answers every
// call, from etcd, as the official one keeps answering after Close. Its
// writes still wait for other clients to give up their leases, so that
// their caches stay coherent.
func (lkv *leasingKV) closed() bool { return lkv.ctx.Err() != nil }

// watching reports whether the revocation watch is in place.
func (lkv *leasingKV) watching() bool {
	select {
	case <-lkv.watchingc:
		return true
	default:
		return false
	}
}

func (lkv *leasingKV) leasingKey(key string) string { return lkv.pfx + key }

// mayAcquire reports whether a Get of key may take its lease: not while
// the backoff after this client last gave the lease up runs.
func (lkv *leasingKV) mayAcquire(key string) bool {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	t, ok := lkv.gaveUp[key]
	if ok && time.Since(t) >= acquireBackoff {
		delete(lkv.gaveUp, key)
		return true
	}
	return !ok
}

// gaveUpLocked starts the acquire backoff of key. Backoffs that have run
// out are dropped on the way, so that the map stays small.
func (lkv *leasingKV) gaveUpLocked(key string) {
	now := time.Now()
	for k, t := range lkv.gaveUp {
		if now.Sub(t) >= acquireBackoff {
			delete(lkv.gaveUp, k)
		}
	}
	lkv.gaveUp[key] = now
}

// doubtsNow returns the current count of writes with an unknown outcome,
// to be handed to store or afterWrite by a call starting now.
func (lkv *leasingKV) doubtsNow() uint64 {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	return lkv.doubts
}

func (lkv *leasingKV) Get(ctx context.Context, key string, opts ...v3.OpOption) (*v3.GetResponse, error) {
	return lkv.get(ctx, v3.OpGet(key, opts...))
}

// get answers a Get from the cache when it can, and otherwise reads from
// etcd, taking the key's lease (and caching the result) if no other
// client holds it, as the official leasing KV does:
//   - a Get of one key at the latest revision is answered from the cache
//     when the key is cached, whatever its other options (they are applied
//     to the cached pair), serializable or not;
//   - any other Get (a range, a past revision), a serializable Get of a
//     key not cached, a Get while there is no session or no revocation
//     watch, a Get once the KV is closed, and a Get of a key whose lease
//     this client gave up less than acquireBackoff ago go to etcd as they
//     are, without taking the key;
//   - otherwise the key is read whole and taken in one transaction, unless
//     another client holds it or the key is bound to a lease of its own
//     (its expiry would go unseen); the caller gets the read with its
//     options applied.
func (lkv *leasingKV) get(ctx context.Context, op v3.Op) (*v3.GetResponse, error) {
	if lkv.closed() || op.Rev() != 0 || len(op.RangeBytes()) > 0 {
		return lkv.direct(ctx, op)
	}
	key := string(op.KeyBytes())
	if resp := lkv.fromCache(key, op); resp != nil {
		return resp, nil
	}
	// A serializable Get may be answered by a member cut off from the
	// others; taking the lease would need a quorum.
	if op.IsSerializable() || key == "" || !lkv.watching() || !lkv.mayAcquire(key) {
		return lkv.direct(ctx, op)
	}
	lease := lkv.currentLease()
	if lease == v3.NoLease {
		return lkv.direct(ctx, op)
	}
	return lkv.acquire(ctx, key, lease, op)
}

// direct sends a Get to etcd as it is.
func (lkv *leasingKV) direct(ctx context.Context, op v3.Op) (*v3.GetResponse, error) {
	resp, err := lkv.kv.Do(ctx, op)
	if err != nil {
		return nil, err
	}
	return resp.Get(), nil
}

// acquire reads key whole in a transaction that also takes its lease if
// nobody holds it and the key is not bound to a lease, and answers op
// from the pair read. A transaction that fails because etcd is out of
// reach is tried again until ctx ends, and the caller then gets ctx's
// error, as from the official leasing KV; errors from etcd itself, and
// other failures, are returned at once. Once the session the key was to
// be taken under is gone (lost, or the KV closed), which may be what made
// the transaction fail, op is read from etcd as it is instead.
func (lkv *leasingKV) acquire(ctx context.Context, key string, lease v3.LeaseID, op v3.Op) (*v3.GetResponse, error) {
	lk := lkv.leasingKey(key)
	var pace pacer
	for {
		doubts := lkv.doubtsNow()
		resp, err := lkv.kv.Txn(ctx).
			If(v3.Compare(v3.CreateRevision(lk), "=", 0), v3.Compare(v3.LeaseValue(key), "=", v3.NoLease)).
			Then(v3.OpGet(key), v3.OpPut(lk, "", v3.WithLease(lease))).
			Else(v3.OpGet(key), v3.OpGet(lk)).
			Commit()
		if err == nil {
			return lkv.acquired(key, lease, op, resp, doubts), nil
		}
		if lkv.currentLease() != lease {
			return lkv.direct(ctx, op)
		}
		if !transient(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-lkv.ctx.Done():
			return lkv.direct(ctx, op)
		case <-time.After(pace.delay()):
		}
		if lkv.currentLease() != lease {
			return lkv.direct(ctx, op)
		}
	}
}

// transient reports whether err may go away by itself because it only
// says that etcd was out of reach.
func transient(err error) bool {
	if _, ok := err.(rpctypes.EtcdError); ok {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if s, ok := status.FromError(err); ok {
		return s.Code() == codes.Unavailable
	}
	return true
}

// acquired caches what acquire's transaction read if the key's lease is
// ours, and answers op from it.
func (lkv *leasingKV) acquired(key string, lease v3.LeaseID, op v3.Op, resp *v3.TxnResponse, doubts uint64) *v3.GetResponse {
	var kv *mvccpb.KeyValue
	if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
		kv = kvs[0]
	}
	lkRev := int64(0)
	if resp.Succeeded {
		lkRev = resp.Header.Revision
	} else if lks := resp.Responses[1].GetResponseRange().GetKvs(); len(lks) == 1 &&
		v3.LeaseID(lks[0].Lease) == lease && string(lks[0].Value) != revokeValue {
		lkRev = lks[0].CreateRevision
	}
	if lkRev != 0 {
		lkv.store(key, lease, lkRev, kv, resp.Header, doubts)
	}
	return view(kv, resp.Header, op)
}

// fromCache returns the cached state of key as a Get with op's options
// would see it, nil if key is not cached.
func (lkv *leasingKV) fromCache(key string, op v3.Op) *v3.GetResponse {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	e := lkv.entries[key]
	if e == nil || !e.cached || lkv.leaseLocked() == v3.NoLease {
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
// lkRev, unless a newer state is cached already, a revocation newer than
// the read was obeyed in the meantime, or a write's outcome became
// unknown since the read started (doubts is the count from then). A key
// bound to a lease is owned but not cached: its lease could expire
// without the leasing protocol hearing of it.
func (lkv *leasingKV) store(key string, lease v3.LeaseID, lkRev int64, kv *mvccpb.KeyValue, hdr *pb.ResponseHeader, doubts uint64) {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	if lkv.session == nil || lkv.session.Lease() != lease {
		return // the lease this read was made under is gone
	}
	if lkv.lastRevoke >= hdr.Revision || lkv.doubts != doubts {
		return
	}
	e := lkv.entries[key]
	if e != nil && e.lkRev == lkRev && e.cached && e.hdr.Revision >= hdr.Revision {
		return
	}
	if kv != nil && kv.Lease != 0 {
		if e == nil || e.lkRev != lkRev {
			lkv.entries[key] = &entry{lkRev: lkRev}
		}
		return
	}
	ne := &entry{lkRev: lkRev, cached: true, hdr: copyHeader(hdr)}
	if kv != nil {
		ne.kv = copyKV(kv)
	}
	lkv.entries[key] = ne
	lkv.noteHeaderLocked(hdr)
}

// noteHeaderLocked keeps hdr if it is the newest the cache has seen.
func (lkv *leasingKV) noteHeaderLocked(hdr *pb.ResponseHeader) {
	if hdr != nil && (lkv.hdr == nil || lkv.hdr.Revision < hdr.Revision) {
		lkv.hdr = copyHeader(hdr)
	}
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

// giveUp forgets our ownership of key, if it is the one whose leasing key
// was created at lkRev (any, if lkRev is 0), because we are deleting that
// leasing key; Gets read the key from etcd for acquireBackoff.
func (lkv *leasingKV) giveUp(key string, lkRev int64) {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	if e := lkv.entries[key]; e != nil && (lkRev == 0 || e.lkRev == lkRev) {
		delete(lkv.entries, key)
	}
	lkv.gaveUpLocked(key)
}

// doubt records that a write of keys failed: it may or may not have been
// applied, then or later. Their ownership is kept but their cached state
// is dropped, and no call that started before updates the cache.
func (lkv *leasingKV) doubt(keys ...string) {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	lkv.doubts++
	for _, key := range keys {
		if e := lkv.entries[key]; e != nil {
			e.cached, e.kv, e.hdr = false, nil, nil
		}
	}
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

// GetStream is not offered by a leasing KV, as by the official one: a
// stream of pages could not be answered from, nor kept coherent with, the
// cache.
func (lkv *leasingKV) GetStream(ctx context.Context, key string, opts ...v3.OpOption) (v3.GetStreamChan, error) {
	return nil, status.Error(codes.Unimplemented, "GetStream is not supported by leasingKV")
}

func (lkv *leasingKV) Compact(ctx context.Context, rev int64, opts ...v3.CompactOption) (*v3.CompactResponse, error) {
	return lkv.kv.Compact(ctx, rev, opts...)
}
