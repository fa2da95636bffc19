package clientv3

import (
	"context"
	"errors"
	"io"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
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
	// large for one response. On a server without streaming ranges (etcd
	// before 3.7) the stream ends with its Unimplemented error, as with
	// the official client.
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
	if stream == nil {
		return nil, errors.New("etcdclient: nil GetStreamChan")
	}
	out := &GetResponse{}
	for chunk := range stream {
		if err := chunk.Err(); err != nil {
			// Drain so the producer can finish.
			for range stream {
			}
			return nil, err
		}
		r := chunk.RangeResponse
		if r == nil {
			continue
		}
		out.Kvs = append(out.Kvs, r.Kvs...)
		if r.Header != nil {
			out.Header = r.Header
		}
		out.More = out.More || r.More
		if r.Count != 0 {
			out.Count = r.Count
		}
	}
	return out, nil
}

// errNilContext replaces the panic a nil context would cause in gRPC.
var errNilContext = errors.New("etcdclient: nil context")

type kv struct {
	remote   pb.KVClient
	callOpts []grpc.CallOption
	c        *Client // runs GetStream's deliveries; may be nil
}

// NewKV returns a KV that uses c's connection.
func NewKV(c *Client) KV {
	return &kv{remote: RetryKVClient(c), callOpts: c.apiCallOptions(), c: c}
}

// NewKVFromKVClient returns a KV over remote; c, which may be nil,
// supplies the call options (message size limits).
func NewKVFromKVClient(remote pb.KVClient, c *Client) KV {
	return &kv{remote: remote, callOpts: c.callOptions(), c: c}
}

func (k *kv) Put(ctx context.Context, key, val string, opts ...OpOption) (*PutResponse, error) {
	r, err := k.Do(ctx, OpPut(key, val, opts...))
	return r.put, err
}

func (k *kv) Get(ctx context.Context, key string, opts ...OpOption) (*GetResponse, error) {
	r, err := k.Do(ctx, OpGet(key, opts...))
	return r.get, err
}

func (k *kv) Delete(ctx context.Context, key string, opts ...OpOption) (*DeleteResponse, error) {
	r, err := k.Do(ctx, OpDelete(key, opts...))
	return r.del, err
}

func (k *kv) Compact(ctx context.Context, rev int64, opts ...CompactOption) (*CompactResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := k.remote.Compact(ctx, OpCompact(rev, opts...).toRequest(), k.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*CompactResponse)(resp), nil
}

func (k *kv) Txn(ctx context.Context) Txn { return &txn{kv: k, ctx: ctx} }

func (k *kv) Do(ctx context.Context, op Op) (OpResponse, error) {
	if ctx == nil {
		return OpResponse{}, errNilContext
	}
	if err := op.validate(); err != nil {
		return OpResponse{}, err
	}
	if op.isSerializable() {
		ctx = withLeaderOptional(ctx)
	}
	switch op.t {
	case tRange:
		resp, err := k.remote.Range(ctx, op.toRangeRequest(), k.callOpts...)
		if err != nil {
			return OpResponse{}, toErr(ctx, err)
		}
		return OpResponse{get: (*GetResponse)(resp)}, nil
	case tPut:
		resp, err := k.remote.Put(ctx, op.toPutRequest(), k.callOpts...)
		if err != nil {
			return OpResponse{}, toErr(ctx, err)
		}
		return OpResponse{put: (*PutResponse)(resp)}, nil
	case tDeleteRange:
		resp, err := k.remote.DeleteRange(ctx, op.toDeleteRequest(), k.callOpts...)
		if err != nil {
			return OpResponse{}, toErr(ctx, err)
		}
		return OpResponse{del: (*DeleteResponse)(resp)}, nil
	case tTxn:
		resp, err := k.remote.Txn(ctx, op.toTxnRequest(), k.callOpts...)
		if err != nil {
			return OpResponse{}, toErr(ctx, err)
		}
		return OpResponse{txn: (*TxnResponse)(resp)}, nil
	}
	return OpResponse{}, errors.New("etcdclient: unknown operation")
}

// GetStream sends a RangeStream request and delivers its chunks on the
// channel it returns, as the official client does: every error, from a bad
// request or a compacted revision to a server without RangeStream
// (codes.Unimplemented), arrives as the terminal chunk, whose Err is set;
// the returned error is only for a stream that could not be opened. The
// channel is closed after the last chunk. A caller that stops reading
// must cancel ctx: the stream and its goroutine then end, and a reader
// still there sees the context's error as the terminal chunk.
func (k *kv) GetStream(ctx context.Context, key string, opts ...OpOption) (GetStreamChan, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	op := OpGet(key, opts...)
	ch := make(chan RangeStreamResponse, 1)
	if err := op.validate(); err != nil {
		ch <- RangeStreamResponse{err: err}
		close(ch)
		return ch, nil
	}
	if op.serializable {
		ctx = withLeaderOptional(ctx)
	}
	sctx, cancel := context.WithCancel(ctx)
	stream, err := k.remote.RangeStream(sctx, op.toRangeRequest(), k.callOpts...)
	if err != nil {
		cancel()
		return nil, ContextError(ctx, err)
	}
	deliver := func() {
		defer cancel()
		deliverRangeStream(ctx, k.c.closed(), stream, ch)
	}
	if k.c == nil {
		go deliver()
	} else if !k.c.tasks.start(deliver) {
		cancel()
		return nil, errClientClosing
	}
	return ch, nil
}

// deliverRangeStream sends stream's chunks on ch until the stream ends,
// then closes ch. A failed stream ends with a terminal chunk carrying the
// error. A reader that has gone away must have canceled ctx, or closed the
// client (closed), which frees the goroutine (see sendChunk).
func deliverRangeStream(ctx context.Context, closed <-chan struct{}, stream pb.KV_RangeStreamClient, ch chan RangeStreamResponse) {
	defer close(ch)
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return
		}
		if err != nil {
			sendChunk(ctx, closed, ch, RangeStreamResponse{err: ContextError(ctx, err)})
			return
		}
		if !sendChunk(ctx, closed, ch, RangeStreamResponse{RangeResponse: msg.GetRangeResponse()}) {
			return
		}
	}
}

// sendChunk sends r on ch, or, once ctx is done or the client closed,
// replaces what waits in ch with a terminal chunk of that error and
// reports false. ch has room for one chunk and this is its only sender, so
// the replacement never blocks: a reader still there learns that the
// stream failed, and one that has gone leaves nothing waiting.
func sendChunk(ctx context.Context, closed <-chan struct{}, ch chan RangeStreamResponse, r RangeStreamResponse) bool {
	var err error
	select {
	case ch <- r:
		return true
	case <-ctx.Done():
		err = ctx.Err()
	case <-closed:
		err = errClientClosing
	}
	select {
	case <-ch:
	default:
	}
	ch <- RangeStreamResponse{err: err}
	return false
}
