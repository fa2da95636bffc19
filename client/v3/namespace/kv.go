package namespace

import (
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

type kvPrefix struct {
	kv  clientv3.KV
	pfx string
}

// NewKV returns a KV that runs every request of kv under prefix: keys and
// range ends get the prefix, and keys in responses lose it.
func NewKV(kv clientv3.KV, prefix string) clientv3.KV {
	return &kvPrefix{kv: kv, pfx: prefix}
}

func (p *kvPrefix) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	if key == "" {
		return nil, rpctypes.ErrEmptyKey
	}
	op, err := p.op(clientv3.OpPut(key, val, opts...))
	if err != nil {
		return nil, err
	}
	resp, err := p.kv.Do(ctx, op)
	if err != nil {
		return nil, err
	}
	put := resp.Put()
	p.trimPut(put)
	return put, nil
}

func (p *kvPrefix) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	op, err := p.op(clientv3.OpGet(key, opts...))
	if err != nil {
		return nil, err
	}
	resp, err := p.kv.Do(ctx, op)
	if err != nil {
		return nil, err
	}
	get := resp.Get()
	p.trimGet(get)
	return get, nil
}

func (p *kvPrefix) GetStream(ctx context.Context, key string, opts ...clientv3.OpOption) (clientv3.GetStreamChan, error) {
	op, err := p.op(clientv3.OpGet(key, opts...))
	if err != nil {
		return nil, err
	}
	inner, err := p.kv.GetStream(ctx, string(op.KeyBytes()), p.rangeOpts(op, opts)...)
	if err != nil {
		return nil, err
	}
	out := make(chan clientv3.RangeStreamResponse)
	go func() {
		defer close(out)
		for chunk := range inner {
			if chunk.RangeResponse != nil {
				trimKVs(p.pfx, chunk.Kvs)
			}
			select {
			case out <- chunk:
			case <-ctx.Done():
				// The caller is gone; let the inner stream, which
				// also watches ctx, wind down without a reader.
				for range inner {
				}
				return
			}
		}
	}()
	return out, nil
}

// rangeOpts returns opts followed by an explicit range end translated into
// the keyspace, for calls that take options rather than an Op.
func (p *kvPrefix) rangeOpts(op clientv3.Op, opts []clientv3.OpOption) []clientv3.OpOption {
	if end := op.RangeBytes(); len(end) > 0 {
		return append(append([]clientv3.OpOption(nil), opts...), clientv3.WithRange(string(end)))
	}
	return opts
}

func (p *kvPrefix) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	op, err := p.op(clientv3.OpDelete(key, opts...))
	if err != nil {
		return nil, err
	}
	resp, err := p.kv.Do(ctx, op)
	if err != nil {
		return nil, err
	}
	del := resp.Del()
	p.trimDelete(del)
	return del, nil
}

func (p *kvPrefix) Compact(ctx context.Context, rev int64, opts ...clientv3.CompactOption) (*clientv3.CompactResponse, error) {
	return p.kv.Compact(ctx, rev, opts...)
}

func (p *kvPrefix) Do(ctx context.Context, op clientv3.Op) (clientv3.OpResponse, error) {
	pop, err := p.op(op)
	if err != nil {
		return clientv3.OpResponse{}, err
	}
	resp, err := p.kv.Do(ctx, pop)
	if err != nil {
		return clientv3.OpResponse{}, err
	}
	p.trimOpResponse(resp)
	return resp, nil
}

func (p *kvPrefix) Txn(ctx context.Context) clientv3.Txn {
	return &txnPrefix{txn: p.kv.Txn(ctx), p: p}
}

// op returns op moved into the keyspace. An operation on the empty key
// without a range is rejected as the server would reject it: with the
// prefix added it would silently address the prefix itself.
func (p *kvPrefix) op(op clientv3.Op) (clientv3.Op, error) {
	if op.IsTxn() {
		cmps, thenOps, elseOps := op.Txn()
		pc := p.cmps(cmps)
		pt, err := p.ops(thenOps)
		if err != nil {
			return clientv3.Op{}, err
		}
		pe, err := p.ops(elseOps)
		if err != nil {
			return clientv3.Op{}, err
		}
		return clientv3.OpTxn(pc, pt, pe), nil
	}
	key, end := op.KeyBytes(), op.RangeBytes()
	if len(key) == 0 && len(end) == 0 {
		return clientv3.Op{}, rpctypes.ErrEmptyKey
	}
	op.WithKeyBytes(addPrefix(p.pfx, key))
	if len(end) > 0 {
		op.WithRangeBytes(rangeEnd(p.pfx, end))
	}
	return op, nil
}

func (p *kvPrefix) ops(ops []clientv3.Op) ([]clientv3.Op, error) {
	if ops == nil {
		return nil, nil
	}
	out := make([]clientv3.Op, len(ops))
	for i, op := range ops {
		pop, err := p.op(op)
		if err != nil {
			return nil, err
		}
		out[i] = pop
	}
	return out, nil
}

func (p *kvPrefix) cmps(cmps []clientv3.Cmp) []clientv3.Cmp {
	if cmps == nil {
		return nil
	}
	out := make([]clientv3.Cmp, len(cmps))
	for i := range cmps {
		c := cmps[i].Clone()
		w := c.GetCompare()
		w.Key = addPrefix(p.pfx, w.Key)
		if len(w.RangeEnd) > 0 {
			w.RangeEnd = rangeEnd(p.pfx, w.RangeEnd)
		}
		out[i] = c
	}
	return out
}

func (p *kvPrefix) trimOpResponse(resp clientv3.OpResponse) {
	switch {
	case resp.Get() != nil:
		p.trimGet(resp.Get())
	case resp.Put() != nil:
		p.trimPut(resp.Put())
	case resp.Del() != nil:
		p.trimDelete(resp.Del())
	case resp.Txn() != nil:
		p.trimTxn((*etcdserverpb.TxnResponse)(resp.Txn()))
	}
}

func (p *kvPrefix) trimGet(r *clientv3.GetResponse) {
	if r != nil {
		trimKVs(p.pfx, r.Kvs)
	}
}

func (p *kvPrefix) trimPut(r *clientv3.PutResponse) {
	if r != nil && r.PrevKv != nil {
		r.PrevKv.Key = trim(p.pfx, r.PrevKv.Key)
	}
}

func (p *kvPrefix) trimDelete(r *clientv3.DeleteResponse) {
	if r != nil {
		trimKVs(p.pfx, r.PrevKvs)
	}
}

// trimTxn removes the prefix from every result of a transaction, nested
// transactions included.
func (p *kvPrefix) trimTxn(r *etcdserverpb.TxnResponse) {
	if r == nil {
		return
	}
	for _, ro := range r.Responses {
		switch {
		case ro.GetResponseRange() != nil:
			trimKVs(p.pfx, ro.GetResponseRange().Kvs)
		case ro.GetResponsePut() != nil:
			if kv := ro.GetResponsePut().PrevKv; kv != nil {
				kv.Key = trim(p.pfx, kv.Key)
			}
		case ro.GetResponseDeleteRange() != nil:
			trimKVs(p.pfx, ro.GetResponseDeleteRange().PrevKvs)
		case ro.GetResponseTxn() != nil:
			p.trimTxn(ro.GetResponseTxn())
		}
	}
}

// txnPrefix builds a transaction in the namespace. An invalid operation is
// remembered and reported by Commit, since If, Then and Else cannot return
// errors.
type txnPrefix struct {
	txn clientv3.Txn
	p   *kvPrefix
	err error
}

func (t *txnPrefix) If(cs ...clientv3.Cmp) clientv3.Txn {
	t.txn = t.txn.If(t.p.cmps(cs)...)
	return t
}

func (t *txnPrefix) Then(ops ...clientv3.Op) clientv3.Txn {
	pops, err := t.p.ops(ops)
	if err != nil && t.err == nil {
		t.err = err
	}
	t.txn = t.txn.Then(pops...)
	return t
}

func (t *txnPrefix) Else(ops ...clientv3.Op) clientv3.Txn {
	pops, err := t.p.ops(ops)
	if err != nil && t.err == nil {
		t.err = err
	}
	t.txn = t.txn.Else(pops...)
	return t
}

func (t *txnPrefix) Commit() (*clientv3.TxnResponse, error) {
	if t.err != nil {
		return nil, t.err
	}
	resp, err := t.txn.Commit()
	if err != nil {
		return nil, err
	}
	t.p.trimTxn((*etcdserverpb.TxnResponse)(resp))
	return resp, nil
}
