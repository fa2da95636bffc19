package namespace

import (
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// Put refuses the empty key before sending, as the official wrapper does:
// with the prefix added it would silently write the prefix key itself.
func (p *kvPrefix) Put(ctx context.Context, key, val string, opts ...clientv3.OpOption) (*clientv3.PutResponse, error) {
	if key == "" {
		return nil, rpctypes.ErrEmptyKey
	}
	resp, err := p.kv.Do(ctx, p.op(clientv3.OpPut(key, val, opts...)))
	if err != nil {
		return nil, err
	}
	put := resp.Put()
	p.trimPut(put)
	return put, nil
}

// Get refuses the empty key unless WithPrefix or WithFromKey names the
// whole namespace, and refuses an unknown sort order or target, before
// sending, as the official wrapper does. An explicit WithRange does not
// make the empty key acceptable.
func (p *kvPrefix) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if emptyKey(key, opts) {
		return nil, rpctypes.ErrEmptyKey
	}
	op := clientv3.OpGet(key, opts...)
	if !op.IsSortOptionValid() {
		return nil, rpctypes.ErrInvalidSortOption
	}
	resp, err := p.kv.Do(ctx, p.op(op))
	if err != nil {
		return nil, err
	}
	get := resp.Get()
	p.trimGet(get)
	return get, nil
}

// GetStream is refused with the official wrapper's Unimplemented error.
func (p *kvPrefix) GetStream(context.Context, string, ...clientv3.OpOption) (clientv3.GetStreamChan, error) {
	return nil, status.Error(codes.Unimplemented, "GetStream is not supported by kvPrefix")
}

// Delete refuses the empty key as Get does.
func (p *kvPrefix) Delete(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.DeleteResponse, error) {
	if emptyKey(key, opts) {
		return nil, rpctypes.ErrEmptyKey
	}
	resp, err := p.kv.Do(ctx, p.op(clientv3.OpDelete(key, opts...)))
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

// Do refuses an operation whose key is empty, whatever its range, unless
// it is a transaction, as the official wrapper does. The operations inside
// a transaction are not checked: an empty key there addresses the prefix
// key itself.
func (p *kvPrefix) Do(ctx context.Context, op clientv3.Op) (clientv3.OpResponse, error) {
	if len(op.KeyBytes()) == 0 && !op.IsTxn() {
		return clientv3.OpResponse{}, rpctypes.ErrEmptyKey
	}
	resp, err := p.kv.Do(ctx, p.op(op))
	if err != nil {
		return clientv3.OpResponse{}, err
	}
	p.trimOpResponse(resp)
	return resp, nil
}

func (p *kvPrefix) Txn(ctx context.Context) clientv3.Txn {
	return &txnPrefix{txn: p.kv.Txn(ctx), p: p}
}

// emptyKey reports whether a Get or Delete of key with opts must be
// refused: the empty key stands for the whole namespace only together with
// WithPrefix or WithFromKey.
func emptyKey(key string, opts []clientv3.OpOption) bool {
	return key == "" && !clientv3.IsOptsWithPrefix(opts) && !clientv3.IsOptsWithFromKey(opts)
}

// op returns op moved into the keyspace, nested operations included. It
// checks nothing: the callers that must refuse an empty key do so first.
func (p *kvPrefix) op(op clientv3.Op) clientv3.Op {
	if op.IsTxn() {
		cmps, thenOps, elseOps := op.Txn()
		return clientv3.OpTxn(p.cmps(cmps), p.ops(thenOps), p.ops(elseOps))
	}
	end := op.RangeBytes()
	op.WithKeyBytes(addPrefix(p.pfx, op.KeyBytes()))
	if len(end) > 0 {
		op.WithRangeBytes(rangeEnd(p.pfx, end))
	}
	return op
}

func (p *kvPrefix) ops(ops []clientv3.Op) []clientv3.Op {
	if ops == nil {
		return nil
	}
	out := make([]clientv3.Op, len(ops))
	for i, op := range ops {
		out[i] = p.op(op)
	}
	return out
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

// txnPrefix builds a transaction in the namespace on a Txn of the wrapped
// KV. Its operations are not checked for empty keys, as the official
// wrapper does not check them: an empty key addresses the prefix key.
type txnPrefix struct {
	txn clientv3.Txn
	p   *kvPrefix
}

func (t *txnPrefix) If(cs ...clientv3.Cmp) clientv3.Txn {
	t.txn = t.txn.If(t.p.cmps(cs)...)
	return t
}

func (t *txnPrefix) Then(ops ...clientv3.Op) clientv3.Txn {
	t.txn = t.txn.Then(t.p.ops(ops)...)
	return t
}

func (t *txnPrefix) Else(ops ...clientv3.Op) clientv3.Txn {
	t.txn = t.txn.Else(t.p.ops(ops)...)
	return t
}

func (t *txnPrefix) Commit() (*clientv3.TxnResponse, error) {
	resp, err := t.txn.Commit()
	if err != nil {
		return nil, err
	}
	t.p.trimTxn((*etcdserverpb.TxnResponse)(resp))
	return resp, nil
}
