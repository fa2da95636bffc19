package clientv3

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Responses of KV calls; they are the wire messages under KV names.
type (
	CompactResponse pb.CompactionResponse
	PutResponse     pb.PutResponse
	GetResponse     pb.RangeResponse
	DeleteResponse  pb.DeleteRangeResponse
	TxnResponse     pb.TxnResponse
)

// KV reads and writes keys.
type KV interface {
	// Put sets key to val. Keys and values are arbitrary bytes held in
	// strings.
	Put(ctx context.Context, key, val string, opts ...OpOption) (*PutResponse, error)

	// Get reads key, or with WithRange, WithPrefix or WithFromKey a range
	// of keys. WithRev reads an older revision (ErrCompacted if it is
	// gone), WithLimit bounds and WithSort orders the result.
	Get(ctx context.Context, key string, opts ...OpOption) (*GetResponse, error)

	// GetStream is Get delivered in chunks over a channel, for ranges too
	// large for one response. Servers without streaming ranges get a
	// plain Get, delivered as one chunk.
	GetStream(ctx context.Context, key string, opts ...OpOption) (GetStreamChan, error)

	// Delete deletes key, or with a range option a range of keys.
	Delete(ctx context.Context, key string, opts ...OpOption) (*DeleteResponse, error)

	// Compact discards the history before revision rev.
	Compact(ctx context.Context, rev int64, opts ...CompactOption) (*CompactResponse, error)

	// Do runs op, which was built earlier with OpGet, OpPut, OpDelete or
	// OpTxn, outside a transaction.
	Do(ctx context.Context, op Op) (OpResponse, error)

	// Txn starts a transaction bound to ctx.
	Txn(ctx context.Context) Txn
}

// GetStreamChan delivers the chunks of a GetStream.
type GetStreamChan <-chan RangeStreamResponse

// RangeStreamResponse is one chunk of a GetStream. The chunks' Kvs are
// disjoint; Header, More and Count are set on the last chunk only. If the
// stream fails, the last value sent has a nil RangeResponse and a non-nil
// Err.
type RangeStreamResponse struct {
	*pb.RangeResponse
	err error
}

// Err returns the error that ended the stream, if this is the terminal
// chunk of a failed stream.
func (r *RangeStreamResponse) Err() error { return r.err }

// GetStreamToGetResponse drains stream and assembles its chunks into the
// GetResponse a Get would have returned.
func GetStreamToGetResponse(stream GetStreamChan) (*GetResponse, error) {
	return nil, errNotImplemented
}

type kv struct {
	remote pb.KVClient
	c      *Client
}

// NewKV returns a KV that uses c's connection.
func NewKV(c *Client) KV { return &kv{c: c} }

// NewKVFromKVClient returns a KV over remote; c, which may be nil,
// supplies call options and the logger.
func NewKVFromKVClient(remote pb.KVClient, c *Client) KV { return &kv{remote: remote, c: c} }

func (k *kv) Put(ctx context.Context, key, val string, opts ...OpOption) (*PutResponse, error) {
	return nil, errNotImplemented
}

func (k *kv) Get(ctx context.Context, key string, opts ...OpOption) (*GetResponse, error) {
	return nil, errNotImplemented
}

func (k *kv) GetStream(ctx context.Context, key string, opts ...OpOption) (GetStreamChan, error) {
	return nil, errNotImplemented
}

func (k *kv) Delete(ctx context.Context, key string, opts ...OpOption) (*DeleteResponse, error) {
	return nil, errNotImplemented
}

func (k *kv) Compact(ctx context.Context, rev int64, opts ...CompactOption) (*CompactResponse, error) {
	return nil, errNotImplemented
}

func (k *kv) Do(ctx context.Context, op Op) (OpResponse, error) {
	return OpResponse{}, errNotImplemented
}

func (k *kv) Txn(ctx context.Context) Txn { return &txn{kv: k, ctx: ctx} }
