package kubernetes

import (
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Client is an etcd client that also implements Interface.
type Client struct {
	*clientv3.Client
	Kubernetes Interface
}

var _ Interface = (*Client)(nil)

// New creates a client from cfg; the caller must Close it.
func New(cfg clientv3.Config) (*Client, error) {
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, err
	}
	kc := &Client{Client: c}
	kc.Kubernetes = kc
	return kc, nil
}

func (k Client) Get(ctx context.Context, key string, opts GetOptions) (resp GetResponse, err error) {
	r, err := k.Client.KV.Get(ctx, key, clientv3.WithRev(opts.Revision), clientv3.WithLimit(1))
	if err != nil {
		return resp, err
	}
	resp.Revision = r.Header.GetRevision()
	if len(r.Kvs) > 0 {
		resp.KV = r.Kvs[0]
	}
	return resp, nil
}

func (k Client) List(ctx context.Context, prefix string, opts ListOptions) (resp ListResponse, err error) {
	start := prefix
	if opts.Continue != "" {
		start = opts.Continue
	}
	ropts := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix)), clientv3.WithLimit(opts.Limit)}
	if opts.Revision != 0 {
		ropts = append(ropts, clientv3.WithRev(opts.Revision))
	}
	r, err := k.Client.KV.Get(ctx, start, ropts...)
	if err != nil {
		return resp, err
	}
	resp.Kvs = r.Kvs
	resp.Count = r.Count
	resp.Revision = r.Header.GetRevision()
	return resp, nil
}

// Count counts the keys under prefix; the empty prefix counts every key,
// as WithPrefix makes it cover the whole key space.
func (k Client) Count(ctx context.Context, prefix string, _ CountOptions) (int64, error) {
	r, err := k.Client.KV.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, err
	}
	return r.Count, nil
}

func (k Client) OptimisticPut(ctx context.Context, key string, value []byte, expectedRevision int64, opts PutOptions) (resp PutResponse, err error) {
	txn := k.Client.KV.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", expectedRevision)).
		Then(clientv3.OpPut(key, string(value), clientv3.WithLease(opts.LeaseID)))
	if opts.GetOnFailure {
		txn = txn.Else(clientv3.OpGet(key))
	}
	r, err := txn.Commit()
	if err != nil {
		return resp, err
	}
	resp.Succeeded = r.Succeeded
	resp.Revision = r.Header.GetRevision()
	if !r.Succeeded && opts.GetOnFailure {
		resp.KV = firstKV(r.Responses)
	}
	return resp, nil
}

func (k Client) OptimisticDelete(ctx context.Context, key string, expectedRevision int64, opts DeleteOptions) (resp DeleteResponse, err error) {
	txn := k.Client.KV.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", expectedRevision)).
		Then(clientv3.OpDelete(key))
	if opts.GetOnFailure {
		txn = txn.Else(clientv3.OpGet(key))
	}
	r, err := txn.Commit()
	if err != nil {
		return resp, err
	}
	resp.Succeeded = r.Succeeded
	resp.Revision = r.Header.GetRevision()
	if !r.Succeeded && opts.GetOnFailure {
		resp.KV = firstKV(r.Responses)
	}
	return resp, nil
}

// firstKV returns the key-value pair a transaction's single read
// returned, nil if there is none.
func firstKV(ops []*pb.ResponseOp) *mvccpb.KeyValue {
	if len(ops) == 0 {
		return nil
	}
	if kvs := ops[0].GetResponseRange().GetKvs(); len(kvs) > 0 {
		return kvs[0]
	}
	return nil
}
