package concurrency

import (
	"context"
	"fmt"
	"math"
	"sort"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
)

// STM is software transactional memory over etcd: the apply function of
// NewSTM reads and writes through it, and its writes are committed
// atomically only if what it read is still valid under the chosen
// isolation level; otherwise apply runs again.
type STM interface {
	// Get returns the value the transaction sees for keys: what it wrote
	// to the first of them it wrote, else the value of the first it has
	// read, else, after reading them all into the read set, the value of
	// the first. If reading fails, the transaction is aborted with that
	// error and Get does not return.
	Get(key ...string) string
	// Put adds a write of val to key to the write set.
	Put(key, val string, opts ...v3.OpOption)
	// Rev returns the modification revision of key as read by the
	// transaction (0 if it does not exist), adding it to the read set.
	Rev(key string) int64
	// Del adds a deletion of key to the write set.
	Del(key string)

	commit() (*v3.TxnResponse, error)
	reset()
}

// Isolation is the isolation level of an STM transaction.
type Isolation int

const (
	// SerializableSnapshot reads every key at the revision of the first
	// read, and fails the commit if any key read or written changed
	// after that revision.
	SerializableSnapshot Isolation = iota
	// Serializable reads every key at the revision of the first read,
	// and fails the commit if any key read changed after it.
	Serializable
	// RepeatableReads reads each key once, at the latest revision, and
	// fails the commit if any key read changed since.
	RepeatableReads
	// ReadCommitted reads the latest committed values and commits
	// without checking anything.
	ReadCommitted
)

type stmOptions struct {
	iso      Isolation
	ctx      context.Context
	prefetch []string
}

// STMOption configures NewSTM.
type STMOption func(*stmOptions)

// WithIsolation sets the isolation level (default SerializableSnapshot).
func WithIsolation(lvl Isolation) STMOption {
	return func(so *stmOptions) { so.iso = lvl }
}

// WithAbortContext makes the transaction give up, with ctx's error, when
// ctx ends. It also bounds every request the transaction makes. The
// default is the client's context.
func WithAbortContext(ctx context.Context) STMOption {
	return func(so *stmOptions) { so.ctx = ctx }
}

// WithPrefetch reads keys in one request at the start of every attempt,
// saving a round trip per key for keys apply is known to read.
func WithPrefetch(keys ...string) STMOption {
	return func(so *stmOptions) { so.prefetch = append(so.prefetch, keys...) }
}

// NewSTM runs apply in a transaction, by default with SerializableSnapshot
// isolation, repeating it until its commit succeeds or apply, a read or the
// commit fails. It returns the response of the successful commit. An
// isolation level other than the four defined fails at once.
func NewSTM(c *v3.Client, apply func(STM) error, so ...STMOption) (*v3.TxnResponse, error) {
	opts := &stmOptions{ctx: c.Ctx()}
	for _, o := range so {
		if o != nil {
			o(opts)
		}
	}
	if opts.iso < SerializableSnapshot || opts.iso > ReadCommitted {
		return nil, fmt.Errorf("concurrency: unsupported STM isolation level %d", opts.iso)
	}
	if len(opts.prefetch) > 0 {
		inner := apply
		apply = func(s STM) error {
			s.Get(opts.prefetch...)
			return inner(s)
		}
	}
	s := &stm{client: c, opts: opts}
	for {
		s.reset()
		if err := s.run(apply); err != nil {
			return nil, err
		}
		resp, err := s.commit()
		if err != nil {
			return nil, err
		}
		if resp.Succeeded {
			return resp, nil
		}
	}
}

// NewSTMRepeatable runs apply with RepeatableReads isolation.
//
// Deprecated: use NewSTM with WithIsolation(RepeatableReads).
func NewSTMRepeatable(ctx context.Context, c *v3.Client, apply func(STM) error) (*v3.TxnResponse, error) {
	return NewSTM(c, apply, WithAbortContext(ctx), WithIsolation(RepeatableReads))
}

// NewSTMSerializable runs apply with Serializable isolation.
//
// Deprecated: use NewSTM with WithIsolation(Serializable).
func NewSTMSerializable(ctx context.Context, c *v3.Client, apply func(STM) error) (*v3.TxnResponse, error) {
	return NewSTM(c, apply, WithAbortContext(ctx), WithIsolation(Serializable))
}

// NewSTMReadCommitted runs apply with ReadCommitted isolation.
//
// Deprecated: use NewSTM with WithIsolation(ReadCommitted).
func NewSTMReadCommitted(ctx context.Context, c *v3.Client, apply func(STM) error) (*v3.TxnResponse, error) {
	return NewSTM(c, apply, WithAbortContext(ctx), WithIsolation(ReadCommitted))
}

// stmAbort carries a failed read out of apply, through a panic that run
// recovers, because STM.Get cannot return an error.
type stmAbort struct{ err error }

type stmWrite struct {
	val string // "" for a deletion
	op  v3.Op
}

type stm struct {
	client *v3.Client
	opts   *stmOptions

	rset map[string]*v3.GetResponse
	wset map[string]stmWrite

	// rev, for the serializable levels, is the revision of the attempt's
	// first read, to which its later reads are pinned; 0 before it.
	rev int64
	// prefetch, for the serializable levels, holds what the last failed
	// commit read again of the keys its attempt had read: the next
	// attempt takes a key from it instead of reading it once more.
	prefetch map[string]*v3.GetResponse
}

func (s *stm) reset() {
	s.rev = 0
	s.rset = make(map[string]*v3.GetResponse)
	s.wset = make(map[string]stmWrite)
}

// run calls apply, turning an aborted read into apply's error.
func (s *stm) run(apply func(STM) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(stmAbort)
			if !ok {
				panic(r)
			}
			err = a.err
		}
	}()
	return apply(s)
}

// Get returns, when one of keys was written by the transaction, what was
// written to the first such key ("" for a deletion). Otherwise it returns
// the value of the first of keys the transaction has already read, or,
// when it has read none of them, reads them all at once and returns the
// value of keys[0] ("" for a missing key).
func (s *stm) Get(keys ...string) string {
	if len(keys) == 0 {
		return ""
	}
	for _, k := range keys {
		if w, ok := s.wset[k]; ok {
			return w.val
		}
	}
	return valueOf(s.read(keys))
}

func (s *stm) Rev(key string) int64 {
	if s.serializable() {
		// As a Get would: the key's first read pins the attempt.
		s.Get(key)
	}
	if r := s.read([]string{key}); len(r.Kvs) > 0 {
		return r.Kvs[0].ModRevision
	}
	return 0
}

func (s *stm) Put(key, val string, opts ...v3.OpOption) {
	s.wset[key] = stmWrite{val: val, op: v3.OpPut(key, val, opts...)}
}

func (s *stm) Del(key string) {
	s.wset[key] = stmWrite{op: v3.OpDelete(key)}
}

// read returns the read of the first of keys already in the read set
// (taking what the last failed commit read again, first); when none is,
// it reads them all in one transaction, so that they come from one
// revision, adds them to the read set, and returns the read of keys[0].
// A failed read aborts the attempt.
func (s *stm) read(keys []string) *v3.GetResponse {
	if s.serializable() {
		for _, k := range keys {
			if r, ok := s.prefetch[k]; ok {
				delete(s.prefetch, k)
				s.rset[k] = r
			}
		}
	}
	for _, k := range keys {
		if r, ok := s.rset[k]; ok {
			s.pin(r)
			return r
		}
	}
	var opts []v3.OpOption
	if s.rev > 0 {
		opts = []v3.OpOption{v3.WithRev(s.rev)}
	}
	ops := make([]v3.Op, len(keys))
	for i, k := range keys {
		ops[i] = v3.OpGet(k, opts...)
	}
	resp, err := s.client.Txn(s.opts.ctx).Then(ops...).Commit()
	if err != nil {
		panic(stmAbort{err})
	}
	s.addReads(keys, resp)
	r := s.rset[keys[0]]
	s.pin(r)
	return r
}

// pin makes r's revision the one later reads of a serializable level are
// pinned to, if r is the attempt's first read.
func (s *stm) pin(r *v3.GetResponse) {
	if s.serializable() && s.rev == 0 {
		s.rev = r.Header.Revision
	}
}

// addReads puts the answers of a transaction of Gets of keys into the
// read set. Each answer keeps its own header, which carries the revision
// it was read at.
func (s *stm) addReads(keys []string, resp *v3.TxnResponse) {
	for i, k := range keys {
		r := (*v3.GetResponse)(resp.Responses[i].GetResponseRange())
		if r.Header == nil {
			r.Header = resp.Header
		}
		s.rset[k] = r
	}
}

func (s *stm) serializable() bool {
	return s.opts.iso == Serializable || s.opts.iso == SerializableSnapshot
}

// conflicts returns the comparisons that must hold for the attempt's
// reads (and, for SerializableSnapshot, writes) to still be valid: every
// key read is unchanged since it was read, and under SerializableSnapshot
// no key written changed after the earliest read.
func (s *stm) conflicts() []v3.Cmp {
	if s.opts.iso == ReadCommitted {
		return nil
	}
	cmps := make([]v3.Cmp, 0, len(s.rset)+len(s.wset))
	for _, k := range sortedKeys(s.rset) {
		var rev int64
		if r := s.rset[k]; len(r.Kvs) > 0 {
			rev = r.Kvs[0].ModRevision
		}
		cmps = append(cmps, v3.Compare(v3.ModRevision(k), "=", rev))
	}
	if s.opts.iso == SerializableSnapshot {
		earliest := int64(math.MaxInt64 - 1)
		for _, r := range s.rset {
			earliest = min(earliest, r.Header.Revision)
		}
		for _, k := range sortedKeys(s.wset) {
			cmps = append(cmps, v3.Compare(v3.ModRevision(k), "<", earliest+1))
		}
	}
	return cmps
}

// commit sends the writes under the conflict checks. For the serializable
// levels a failed commit also reads again every key the attempt read, for
// the next attempt (see prefetch).
func (s *stm) commit() (*v3.TxnResponse, error) {
	keys := sortedKeys(s.wset)
	ops := make([]v3.Op, len(keys))
	for i, k := range keys {
		ops[i] = s.wset[k].op
	}
	txn := s.client.Txn(s.opts.ctx).If(s.conflicts()...).Then(ops...)
	var read []string
	if s.serializable() {
		read = sortedKeys(s.rset)
		gets := make([]v3.Op, len(read))
		for i, k := range read {
			gets[i] = v3.OpGet(k)
		}
		txn = txn.Else(gets...)
	}
	resp, err := txn.Commit()
	if err != nil || resp.Succeeded || !s.serializable() {
		return resp, err
	}
	s.addReads(read, resp)
	s.prefetch = s.rset
	return resp, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func valueOf(r *v3.GetResponse) string {
	if r == nil || len(r.Kvs) == 0 {
		return ""
	}
	return string(r.Kvs[0].Value)
}
