package clientv3

import (
	"errors"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// opType says which RPC an Op becomes.
type opType int

const (
	tRange opType = iota + 1
	tPut
	tDeleteRange
	tTxn
)

// noPrefixEnd is the range end that means "to the end of the keyspace".
var noPrefixEnd = []byte{0}

// Op is one operation (get, put, delete or a nested transaction) that a
// KV can execute directly with Do or as part of a Txn. Build it with OpGet,
// OpPut, OpDelete or OpTxn.
type Op struct {
	t   opType
	key []byte
	end []byte

	// range
	limit        int64
	sort         *SortOption
	serializable bool
	keysOnly     bool
	countOnly    bool
	minModRev    int64
	maxModRev    int64
	minCreateRev int64
	maxCreateRev int64

	// range and watch
	rev int64

	// watch
	prevKV         bool
	fragment       bool
	progressNotify bool
	createdNotify  bool
	filterPut      bool
	filterDelete   bool
	watchBufLog    bool

	// put
	val         []byte
	leaseID     LeaseID
	ignoreValue bool
	ignoreLease bool

	// txn
	cmps    []Cmp
	thenOps []Op
	elseOps []Op

	isOptsWithFromKey bool
	isOptsWithPrefix  bool

	// err records an option that does not fit the operation. The official
	// client panics in that case; we report it when the Op is executed.
	err error
}

// OpOption configures an Op.
type OpOption func(*Op)

// NewOp returns an empty Op whose fields the With*Bytes methods can fill.
func NewOp() *Op { return &Op{key: []byte("")} }

func (op *Op) applyOpts(opts []OpOption) {
	for _, o := range opts {
		if o != nil {
			o(op)
		}
	}
}

// OpGet returns a get operation on key, configured by opts.
func OpGet(key string, opts ...OpOption) Op {
	op := Op{t: tRange, key: []byte(key)}
	op.applyOpts(opts)
	op.checkPrefixFromKey()
	return op
}

// OpDelete returns a delete operation on key, configured by opts.
// Options that only make sense for Get or Put make the Op fail when run.
func OpDelete(key string, opts ...OpOption) Op {
	op := Op{t: tDeleteRange, key: []byte(key)}
	op.applyOpts(opts)
	op.checkPrefixFromKey()
	op.checkOptions(forDelete, "delete")
	return op
}

// OpPut returns a put operation of val at key, configured by opts.
// Options that only make sense for Get or Delete make the Op fail when run.
func OpPut(key, val string, opts ...OpOption) Op {
	op := Op{t: tPut, key: []byte(key), val: []byte(val)}
	op.applyOpts(opts)
	op.checkOptions(forPut, "put")
	return op
}

// OpTxn returns a transaction operation: if all cmps hold, thenOps run,
// otherwise elseOps run. It can be nested inside another transaction.
func OpTxn(cmps []Cmp, thenOps []Op, elseOps []Op) Op {
	// The comparisons are copied whole, as the official client copies
	// them: a caller may reuse its slice, or change a comparison through
	// GetCompare, for the next transaction.
	return Op{t: tTxn, cmps: cloneCmps(cmps), thenOps: thenOps, elseOps: elseOps}
}

// cloneCmps deep-copies cmps (Cmp.Clone each).
func cloneCmps(cmps []Cmp) []Cmp {
	out := make([]Cmp, len(cmps))
	for i := range cmps {
		out[i] = cmps[i].Clone()
	}
	return out
}

// snapshot returns op as it is now, for a Txn's Then or Else: the official
// client turns each Op into its request there, so a nested transaction's
// operations and comparisons changed afterwards by the caller are not
// sent. Only nested transactions share anything with the caller.
func (op Op) snapshot() Op {
	if op.t != tTxn {
		return op
	}
	op.cmps = cloneCmps(op.cmps)
	op.thenOps = snapshotOps(op.thenOps)
	op.elseOps = snapshotOps(op.elseOps)
	return op
}

func snapshotOps(ops []Op) []Op {
	if ops == nil {
		return nil
	}
	out := make([]Op, len(ops))
	for i := range ops {
		out[i] = ops[i].snapshot()
	}
	return out
}

// OpWatch returns the operation a Watcher uses to describe a watch on key.
// Options that do not apply to watches make the Op carry an error.
func OpWatch(key string, opts ...OpOption) Op {
	op := Op{t: tRange, key: []byte(key)}
	op.applyOpts(opts)
	// As with the official client, WithPrefix and WithFromKey together
	// are not an error for a watch: the later one sets the range.
	op.checkOptions(forWatch, "watch")
	return op
}

func (op *Op) checkPrefixFromKey() {
	if op.isOptsWithPrefix && op.isOptsWithFromKey {
		op.setErr("WithPrefix and WithFromKey cannot be used together")
	}
}

// opKinds is a set of the operations an option may configure.
type opKinds uint8

const (
	forPut opKinds = 1 << iota
	forDelete
	forWatch
)

// optionFits is the one place that decides which operations accept the
// options that not all of them do; a get accepts every option. The rules
// are checked in order and the first misfit is reported.
var optionFits = []struct {
	name string
	set  func(*Op) bool
	fits opKinds
}{
	{"range", func(op *Op) bool { return op.end != nil }, forDelete | forWatch},
	{"lease", func(op *Op) bool { return op.leaseID != 0 }, forPut},
	{"limit", func(op *Op) bool { return op.limit != 0 }, 0},
	{"revision", func(op *Op) bool { return op.rev != 0 }, forWatch},
	{"sort", func(op *Op) bool { return op.sort != nil }, 0},
	{"serializable", func(op *Op) bool { return op.serializable }, 0},
	{"countOnly", func(op *Op) bool { return op.countOnly }, 0},
	{"keysOnly", func(op *Op) bool { return op.keysOnly }, forPut | forDelete | forWatch}, // ignored there, as by the official client
	{"mod revision filter", func(op *Op) bool { return op.minModRev != 0 || op.maxModRev != 0 }, 0},
	{"create revision filter", func(op *Op) bool { return op.minCreateRev != 0 || op.maxCreateRev != 0 }, 0},
	{"filter", func(op *Op) bool { return op.filterDelete || op.filterPut }, forWatch},
	{"createdNotify", func(op *Op) bool { return op.createdNotify }, forWatch},
}

// checkOptions records the first option set on op that an operation of
// kind k, called name in the error, does not accept.
func (op *Op) checkOptions(k opKinds, name string) {
	for _, r := range optionFits {
		if r.fits&k == 0 && r.set(op) {
			op.setErr("unexpected " + r.name + " in " + name)
			return
		}
	}
}

func (op *Op) setErr(msg string) {
	if op.err == nil {
		op.err = errors.New("etcdclient: " + msg)
	}
}

// validate returns the first option error of op or of any Op nested in it.
func (op *Op) validate() error {
	if op.err != nil {
		return op.err
	}
	if op.t == 0 {
		return errors.New("etcdclient: unknown operation (build Ops with OpGet, OpPut, OpDelete or OpTxn)")
	}
	if op.t == tRange && !op.IsSortOptionValid() {
		return rpctypes.ErrInvalidSortOption
	}
	if op.t == tTxn {
		for i := range op.cmps {
			if err := op.cmps[i].err; err != nil {
				return err
			}
		}
		for _, ops := range [][]Op{op.thenOps, op.elseOps} {
			for i := range ops {
				if err := ops[i].validate(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// IsTxn reports whether op is a transaction.
func (op Op) IsTxn() bool { return op.t == tTxn }

// isSerializable reports whether a member may serve op from its own
// state, leader or not: a serializable range, or a transaction whose every
// operation, on either branch, is one (the server's own rule; a nested
// transaction never is).
func (op Op) isSerializable() bool {
	switch op.t {
	case tRange:
		return op.serializable
	case tTxn:
		for _, ops := range [2][]Op{op.thenOps, op.elseOps} {
			for _, o := range ops {
				if o.t != tRange || !o.serializable {
					return false
				}
			}
		}
		return true
	}
	return false
}

// Txn returns the comparisons, then-operations and else-operations of a
// transaction Op.
func (op Op) Txn() ([]Cmp, []Op, []Op) { return op.cmps, op.thenOps, op.elseOps }

// KeyBytes returns the key of op.
func (op Op) KeyBytes() []byte { return op.key }

// WithKeyBytes sets the key of op.
func (op *Op) WithKeyBytes(key []byte) { op.key = key }

// RangeBytes returns the range end of op, nil if it has none.
func (op Op) RangeBytes() []byte { return op.end }

// Rev returns the revision op reads at (Get) or starts from (Watch).
func (op Op) Rev() int64 { return op.rev }

// IsPut reports whether op is a put.
func (op Op) IsPut() bool { return op.t == tPut }

// IsGet reports whether op is a get.
func (op Op) IsGet() bool { return op.t == tRange }

// IsDelete reports whether op is a delete.
func (op Op) IsDelete() bool { return op.t == tDeleteRange }

// IsSerializable reports whether WithSerializable was given.
func (op Op) IsSerializable() bool { return op.serializable }

// IsKeysOnly reports whether WithKeysOnly was given.
func (op Op) IsKeysOnly() bool { return op.keysOnly }

// IsCountOnly reports whether WithCountOnly was given.
func (op Op) IsCountOnly() bool { return op.countOnly }

// IsOptsWithFromKey reports whether WithFromKey was given.
func (op Op) IsOptsWithFromKey() bool { return op.isOptsWithFromKey }

// IsOptsWithPrefix reports whether WithPrefix was given.
func (op Op) IsOptsWithPrefix() bool { return op.isOptsWithPrefix }

// MinModRev returns the minimum modification revision filter, 0 if none.
func (op Op) MinModRev() int64 { return op.minModRev }

// MaxModRev returns the maximum modification revision filter, 0 if none.
func (op Op) MaxModRev() int64 { return op.maxModRev }

// MinCreateRev returns the minimum creation revision filter, 0 if none.
func (op Op) MinCreateRev() int64 { return op.minCreateRev }

// MaxCreateRev returns the maximum creation revision filter, 0 if none.
func (op Op) MaxCreateRev() int64 { return op.maxCreateRev }

// Limit returns the maximum number of keys a Get returns, 0 for no limit.
func (op Op) Limit() int64 { return op.limit }

// IsSortSet reports whether WithSort was given.
func (op Op) IsSortSet() bool { return op.sort != nil }

// IsSortOptionValid reports whether the sort target and order, if any, are
// values the server knows.
func (op Op) IsSortOptionValid() bool {
	if op.sort == nil {
		return true
	}
	if _, ok := pb.RangeRequest_SortOrder_name[int32(op.sort.Order)]; !ok {
		return false
	}
	_, ok := pb.RangeRequest_SortTarget_name[int32(op.sort.Target)]
	return ok
}

// ValueBytes returns the value of a put Op.
func (op Op) ValueBytes() []byte { return op.val }

// WithValueBytes sets the value of a put Op.
func (op *Op) WithValueBytes(v []byte) { op.val = v }

// WithRangeBytes sets the range end of op.
func (op *Op) WithRangeBytes(end []byte) { op.end = end }

// IsPrevKV reports whether WithPrevKV was given.
func (op Op) IsPrevKV() bool { return op.prevKV }

// IsFragment reports whether WithFragment was given.
func (op Op) IsFragment() bool { return op.fragment }

// IsProgressNotify reports whether WithProgressNotify was given.
func (op Op) IsProgressNotify() bool { return op.progressNotify }

// IsCreatedNotify reports whether WithCreatedNotify was given.
func (op Op) IsCreatedNotify() bool { return op.createdNotify }

// IsFilterPut reports whether WithFilterPut was given.
func (op Op) IsFilterPut() bool { return op.filterPut }

// IsFilterDelete reports whether WithFilterDelete was given.
func (op Op) IsFilterDelete() bool { return op.filterDelete }

func (op *Op) toRangeRequest() *pb.RangeRequest {
	r := &pb.RangeRequest{
		Key:               op.key,
		RangeEnd:          op.end,
		Limit:             op.limit,
		Revision:          op.rev,
		Serializable:      op.serializable,
		KeysOnly:          op.keysOnly,
		CountOnly:         op.countOnly,
		MinModRevision:    op.minModRev,
		MaxModRevision:    op.maxModRev,
		MinCreateRevision: op.minCreateRev,
		MaxCreateRevision: op.maxCreateRev,
	}
	if op.sort != nil {
		r.SortOrder = pb.RangeRequest_SortOrder(op.sort.Order)
		r.SortTarget = pb.RangeRequest_SortTarget(op.sort.Target)
	}
	return r
}

func (op *Op) toPutRequest() *pb.PutRequest {
	return &pb.PutRequest{
		Key:         op.key,
		Value:       op.val,
		Lease:       int64(op.leaseID),
		PrevKv:      op.prevKV,
		IgnoreValue: op.ignoreValue,
		IgnoreLease: op.ignoreLease,
	}
}

func (op *Op) toDeleteRequest() *pb.DeleteRangeRequest {
	return &pb.DeleteRangeRequest{Key: op.key, RangeEnd: op.end, PrevKv: op.prevKV}
}

func (op *Op) toTxnRequest() *pb.TxnRequest {
	r := &pb.TxnRequest{
		Compare: make([]*pb.Compare, len(op.cmps)),
		Success: make([]*pb.RequestOp, len(op.thenOps)),
		Failure: make([]*pb.RequestOp, len(op.elseOps)),
	}
	for i := range op.cmps {
		r.Compare[i] = op.cmps[i].GetCompare()
	}
	for i := range op.thenOps {
		r.Success[i] = op.thenOps[i].toRequestOp()
	}
	for i := range op.elseOps {
		r.Failure[i] = op.elseOps[i].toRequestOp()
	}
	return r
}

func (op *Op) toRequestOp() *pb.RequestOp {
	switch op.t {
	case tRange:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: op.toRangeRequest()}}
	case tPut:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: op.toPutRequest()}}
	case tDeleteRange:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: op.toDeleteRequest()}}
	case tTxn:
		return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: op.toTxnRequest()}}
	}
	return &pb.RequestOp{}
}

// isWrite reports whether running op can change the store. Transactions
// are writes if any branch writes.
func (op *Op) isWrite() bool {
	switch op.t {
	case tRange:
		return false
	case tTxn:
		for _, ops := range [][]Op{op.thenOps, op.elseOps} {
			for i := range ops {
				if ops[i].isWrite() {
					return true
				}
			}
		}
		return false
	}
	return true
}

// GetPrefixRangeEnd returns the range end that, with prefix as the key,
// covers exactly the keys that start with prefix: Get(p, WithPrefix()) is
// Get(p, WithRange(GetPrefixRangeEnd(p))).
func GetPrefixRangeEnd(prefix string) string {
	return string(prefixEnd([]byte(prefix)))
}

func prefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] < 0xff {
			end := make([]byte, i+1)
			copy(end, prefix)
			end[i]++
			return end
		}
	}
	// Every byte is 0xff: no key is greater with this prefix, so the
	// range runs to the end of the keyspace.
	return noPrefixEnd
}

// WithLease attaches lease leaseID to the key of a Put.
func WithLease(leaseID LeaseID) OpOption {
	return func(op *Op) { op.leaseID = leaseID }
}

// WithLimit bounds the number of keys a Get returns; 0 means no limit.
func WithLimit(n int64) OpOption { return func(op *Op) { op.limit = n } }

// WithRev makes a Get read the store as of revision rev, or a Watch start
// at rev.
func WithRev(rev int64) OpOption { return func(op *Op) { op.rev = rev } }

// WithSort orders the keys of a ranged Get by target in the given order.
func WithSort(target SortTarget, order SortOrder) OpOption {
	return func(op *Op) {
		if target == SortByKey && order == SortAscend {
			// The server returns keys in ascending key order anyway;
			// asking for it explicitly only costs a server-side sort.
			order = SortNone
		}
		op.sort = &SortOption{Target: target, Order: order}
	}
}

// WithPrefix makes the operation cover every key that starts with its key.
// An empty key then means the whole keyspace.
func WithPrefix() OpOption {
	return func(op *Op) {
		op.isOptsWithPrefix = true
		if len(op.key) == 0 {
			op.key, op.end = []byte{0}, []byte{0}
			return
		}
		op.end = prefixEnd(op.key)
	}
}

// WithRange makes the operation cover the keys in [key, endKey).
func WithRange(endKey string) OpOption {
	return func(op *Op) { op.end = []byte(endKey) }
}

// WithFromKey makes the operation cover every key greater than or equal to
// its key.
func WithFromKey() OpOption {
	return func(op *Op) {
		if len(op.key) == 0 {
			op.key = []byte{0}
		}
		op.end = []byte{0}
		op.isOptsWithFromKey = true
	}
}

// WithSerializable lets a Get or MemberList be answered from the local
// member's state without consensus: faster, but possibly stale.
func WithSerializable() OpOption { return func(op *Op) { op.serializable = true } }

// WithKeysOnly makes a Get return keys without values.
func WithKeysOnly() OpOption { return func(op *Op) { op.keysOnly = true } }

// WithCountOnly makes a Get return only the number of keys.
func WithCountOnly() OpOption { return func(op *Op) { op.countOnly = true } }

// WithMinModRev makes a Get skip keys modified before rev.
func WithMinModRev(rev int64) OpOption { return func(op *Op) { op.minModRev = rev } }

// WithMaxModRev makes a Get skip keys modified after rev.
func WithMaxModRev(rev int64) OpOption { return func(op *Op) { op.maxModRev = rev } }

// WithMinCreateRev makes a Get skip keys created before rev.
func WithMinCreateRev(rev int64) OpOption { return func(op *Op) { op.minCreateRev = rev } }

// WithMaxCreateRev makes a Get skip keys created after rev.
func WithMaxCreateRev(rev int64) OpOption { return func(op *Op) { op.maxCreateRev = rev } }

func withTop(target SortTarget, order SortOrder) []OpOption {
	return []OpOption{WithPrefix(), WithSort(target, order), WithLimit(1)}
}

// WithFirstCreate selects the key with the oldest creation revision under
// the prefix.
func WithFirstCreate() []OpOption { return withTop(SortByCreateRevision, SortAscend) }

// WithLastCreate selects the key with the newest creation revision under
// the prefix.
func WithLastCreate() []OpOption { return withTop(SortByCreateRevision, SortDescend) }

// WithFirstKey selects the lexically first key under the prefix.
func WithFirstKey() []OpOption { return withTop(SortByKey, SortAscend) }

// WithLastKey selects the lexically last key under the prefix.
func WithLastKey() []OpOption { return withTop(SortByKey, SortDescend) }

// WithFirstRev selects the key with the oldest modification revision under
// the prefix.
func WithFirstRev() []OpOption { return withTop(SortByModRevision, SortAscend) }

// WithLastRev selects the key with the newest modification revision under
// the prefix.
func WithLastRev() []OpOption { return withTop(SortByModRevision, SortDescend) }

// WithPrevKV makes a Put or Delete return the key-value pairs as they were
// before it, and a Watch deliver them with each event. Compacted previous
// values are not returned.
func WithPrevKV() OpOption { return func(op *Op) { op.prevKV = true } }

// WithIgnoreValue makes a Put keep the key's current value (the value
// given must be empty). The key must exist.
func WithIgnoreValue() OpOption { return func(op *Op) { op.ignoreValue = true } }

// WithIgnoreLease makes a Put keep the key's current lease; it cannot be
// combined with WithLease. The key must exist.
func WithIgnoreLease() OpOption { return func(op *Op) { op.ignoreLease = true } }

// WithFragment lets the server split a large watch response into fragments
// that the watcher reassembles.
func WithFragment() OpOption { return func(op *Op) { op.fragment = true } }

// WithProgressNotify makes the server send a watcher periodic empty
// responses carrying the current revision while nothing happens.
func WithProgressNotify() OpOption { return func(op *Op) { op.progressNotify = true } }

// WithCreatedNotify makes a watcher receive a response when the server has
// created the watch.
func WithCreatedNotify() OpOption { return func(op *Op) { op.createdNotify = true } }

// WithFilterPut drops PUT events from a watch.
func WithFilterPut() OpOption { return func(op *Op) { op.filterPut = true } }

// WithFilterDelete drops DELETE events from a watch.
func WithFilterDelete() OpOption { return func(op *Op) { op.filterDelete = true } }

// WithWatchBufLog turns on logging of a watcher's response buffer.
func WithWatchBufLog() OpOption { return func(op *Op) { op.watchBufLog = true } }

// IsOptsWithPrefix reports whether opts include WithPrefix.
func IsOptsWithPrefix(opts []OpOption) bool {
	op := Op{}
	op.applyOpts(opts)
	return op.isOptsWithPrefix
}

// IsOptsWithFromKey reports whether opts include WithFromKey.
func IsOptsWithFromKey(opts []OpOption) bool {
	op := Op{}
	op.applyOpts(opts)
	return op.isOptsWithFromKey
}

// OpResponse holds the response of whichever operation an Op was: exactly
// one of Put, Get, Del and Txn is non-nil.
type OpResponse struct {
	put *PutResponse
	get *GetResponse
	del *DeleteResponse
	txn *TxnResponse
}

// Put returns the response of a put, nil for other operations.
func (op OpResponse) Put() *PutResponse { return op.put }

// Get returns the response of a get, nil for other operations.
func (op OpResponse) Get() *GetResponse { return op.get }

// Del returns the response of a delete, nil for other operations.
func (op OpResponse) Del() *DeleteResponse { return op.del }

// Txn returns the response of a transaction, nil for other operations.
func (op OpResponse) Txn() *TxnResponse { return op.txn }

// OpResponse wraps resp as an OpResponse.
func (resp *PutResponse) OpResponse() OpResponse { return OpResponse{put: resp} }

// OpResponse wraps resp as an OpResponse.
func (resp *GetResponse) OpResponse() OpResponse { return OpResponse{get: resp} }

// OpResponse wraps resp as an OpResponse.
func (resp *DeleteResponse) OpResponse() OpResponse { return OpResponse{del: resp} }

// OpResponse wraps resp as an OpResponse.
func (resp *TxnResponse) OpResponse() OpResponse { return OpResponse{txn: resp} }

// String describes op for logs and test failures.
func (t opType) String() string {
	switch t {
	case tRange:
		return "get"
	case tPut:
		return "put"
	case tDeleteRange:
		return "delete"
	case tTxn:
		return "txn"
	}
	return fmt.Sprintf("opType(%d)", int(t))
}
