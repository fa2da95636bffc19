package concurrency

import (
	"context"
	"sort"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
)

// STM is software transactional memory over etcd: the apply function of
// NewSTM reads and writes through it, and its writes are committed
// atomically only if what it read is still valid under the chosen
// isolation level; otherwise apply runs again.
type STM interface {
	// Get returns the value of the first of keys that has one, adding
	// the keys to the read set. If reading fails, the transaction is
	// aborted with that error and Get does not return.
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
// isolation, repeating it until its commit succeeds, apply returns an
// error, or the abort context ends. It returns the response of the
// successful commit.
func NewSTM(c *v3.Client, apply func(STM) error, so ...STMOption) (*v3.TxnResponse, error) {
	opts := &stmOptions{ctx: c.Ctx()}
	for _, o := range so {
		if o != nil {
			o(opts)
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
		if err := opts.ctx.Err(); err != nil {
			return nil, err
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
	val     string
	deleted bool
	op      v3.Op
}

type stm struct {
	client *v3.Client
	opts   *stmOptions

	// rev is the revision of the attempt's first read; later reads of
	// the serializable levels are pinned to it.
	rev  int64
	rset map[string]*v3.GetResponse
	wset map[string]stmWrite
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
	if len(s.opts.prefetch) > 0 {
		s.fetch(s.opts.prefetch)
	}
	return apply(s)
}

func (s *stm) Get(keys ...string) string {
	var missing []string
	for _, k := range keys {
		_, written := s.wset[k]
		_, read := s.rset[k]
		if !written && !read {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		s.fetch(missing)
	}
	for _, k := range keys {
		if w, ok := s.wset[k]; ok {
			if w.deleted {
				continue
			}
			return w.val
		}
		if r := s.rset[k]; r != nil && len(r.Kvs) > 0 {
			return string(r.Kvs[0].Value)
		}
	}
	return ""
}

func (s *stm) Rev(key string) int64 {
	if _, ok := s.rset[key]; !ok {
		s.fetch([]string{key})
	}
	if r := s.rset[key]; len(r.Kvs) > 0 {
		return r.Kvs[0].ModRevision
	}
	return 0
}

func (s *stm) Put(key, val string, opts ...v3.OpOption) {
	s.wset[key] = stmWrite{val: val, op: v3.OpPut(key, val, opts...)}
}

func (s *stm) Del(key string) {
	s.wset[key] = stmWrite{deleted: true, op: v3.OpDelete(key)}
}

// fetch reads keys in one transaction, so that they come from one
// revision, and adds them to the read set.
func (s *stm) fetch(keys []string) {
	var opts []v3.OpOption
	if s.pinsReads() && s.rev > 0 {
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
	if s.rev == 0 {
		s.rev = resp.Header.Revision
	}
	for i, k := range keys {
		r := (*v3.GetResponse)(resp.Responses[i].GetResponseRange())
		r.Header = resp.Header
		s.rset[k] = r
	}
}

func (s *stm) pinsReads() bool {
	return s.opts.iso == Serializable || s.opts.iso == SerializableSnapshot
}

// conflicts returns the comparisons that must hold for the attempt's
// reads (and, for SerializableSnapshot, writes) to still be valid.
func (s *stm) conflicts() []v3.Cmp {
	var cmps []v3.Cmp
	switch s.opts.iso {
	case ReadCommitted:
		return nil
	case RepeatableReads:
		for k, r := range s.rset {
			var rev int64
			if len(r.Kvs) > 0 {
				rev = r.Kvs[0].ModRevision
			}
			cmps = append(cmps, v3.Compare(v3.ModRevision(k), "=", rev))
		}
	default:
		if s.rev == 0 {
			return nil
		}
		for k := range s.rset {
			cmps = append(cmps, v3.Compare(v3.ModRevision(k), "<", s.rev+1))
		}
		if s.opts.iso == SerializableSnapshot {
			for k := range s.wset {
				if _, read := s.rset[k]; !read {
					cmps = append(cmps, v3.Compare(v3.ModRevision(k), "<", s.rev+1))
				}
			}
		}
	}
	return cmps
}

func (s *stm) commit() (*v3.TxnResponse, error) {
	keys := make([]string, 0, len(s.wset))
	for k := range s.wset {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ops := make([]v3.Op, len(keys))
	for i, k := range keys {
		ops[i] = s.wset[k].op
	}
	return s.client.Txn(s.opts.ctx).If(s.conflicts()...).Then(ops...).Commit()
}
