package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// rawV3 drives the generated etcdserverpb stubs on a bare grpc.ClientConn
// (round robin over the endpoints, as both client libraries do): the floor,
// what grpc-go and protobuf cost without any client library on top.
type rawV3 struct {
	conn  *grpc.ClientConn
	kv    pb.KVClient
	watch pb.WatchClient
	lease pb.LeaseClient
}

func newRawV3(_ context.Context, endpoints []string) (v3Client, error) {
	return dialRawV3(endpoints)
}

func dialRawV3(endpoints []string) (*rawV3, error) {
	r := manual.NewBuilderWithScheme("benchraw")
	addrs := make([]resolver.Address, len(endpoints))
	for i, ep := range endpoints {
		addrs[i] = resolver.Address{Addr: ep}
	}
	r.InitialState(resolver.State{Addresses: addrs})
	conn, err := grpc.NewClient(r.Scheme()+":///etcd",
		grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// As both client libraries do: grpc-go's default of 4 MiB would
		// refuse the large ranges of the scale workloads.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	if err != nil {
		return nil, err
	}
	return &rawV3{conn: conn, kv: pb.NewKVClient(conn), watch: pb.NewWatchClient(conn), lease: pb.NewLeaseClient(conn)}, nil
}

func (c *rawV3) Put(ctx context.Context, key, val string) error {
	_, err := c.kv.Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte(val)})
	return err
}

func (c *rawV3) Get(ctx context.Context, key string, serializable bool) (int, error) {
	resp, err := c.kv.Range(ctx, &pb.RangeRequest{Key: []byte(key), Serializable: serializable})
	if err != nil {
		return 0, err
	}
	return len(resp.Kvs), nil
}

func (c *rawV3) GetPrefix(ctx context.Context, prefix string) (int, error) {
	resp, err := c.kv.Range(ctx, &pb.RangeRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	return len(resp.Kvs), nil
}

func (c *rawV3) Delete(ctx context.Context, key string) (int64, error) {
	resp, err := c.kv.DeleteRange(ctx, &pb.DeleteRangeRequest{Key: []byte(key)})
	if err != nil {
		return 0, err
	}
	return resp.Deleted, nil
}

func (c *rawV3) PutIfEqual(ctx context.Context, key, want, val string) (bool, error) {
	resp, err := c.kv.Txn(ctx, &pb.TxnRequest{
		Compare: []*pb.Compare{{
			Key:         []byte(key),
			Target:      pb.Compare_VALUE,
			Result:      pb.Compare_EQUAL,
			TargetUnion: &pb.Compare_Value{Value: []byte(want)},
		}},
		Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{
			RequestPut: &pb.PutRequest{Key: []byte(key), Value: []byte(val)},
		}}},
	})
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// Watch opens one stream and creates n watchers on it, one request at a
// time, as the official client does.
func (c *rawV3) Watch(ctx context.Context, prefix string, n int, onEvents func(int, error)) (func(), error) {
	reqs := make([]*pb.WatchCreateRequest, n)
	for i := range reqs {
		reqs[i] = &pb.WatchCreateRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)}
	}
	return c.watchOnOneStream(ctx, reqs, func(resp *pb.WatchResponse, err error) {
		if err != nil {
			onEvents(0, err)
		} else if len(resp.Events) > 0 {
			onEvents(len(resp.Events), nil)
		}
	})
}

// WatchEach opens one stream and creates a watcher per key on it, one
// request at a time, as Watch does.
func (c *rawV3) WatchEach(ctx context.Context, keys []string, prefix bool, onEvent func(int64, error)) (func(), error) {
	reqs := make([]*pb.WatchCreateRequest, len(keys))
	for i, k := range keys {
		reqs[i] = &pb.WatchCreateRequest{Key: []byte(k)}
		if prefix {
			reqs[i].RangeEnd = prefixEnd(k)
		}
	}
	return c.watchOnOneStream(ctx, reqs, func(resp *pb.WatchResponse, err error) {
		if err != nil {
			onEvent(0, err)
			return
		}
		for _, ev := range resp.Events {
			onEvent(ev.Kv.ModRevision, nil)
		}
	})
}

// watchOnOneStream opens a stream, creates the watchers of reqs on it one
// request at a time, and hands every response to onResp (or the error
// that ended the stream before stop was called) until stop.
func (c *rawV3) watchOnOneStream(ctx context.Context, reqs []*pb.WatchCreateRequest, onResp func(*pb.WatchResponse, error)) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.watch.Watch(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	for _, req := range reqs {
		err := stream.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: req}})
		if err == nil {
			var resp *pb.WatchResponse
			resp, err = stream.Recv()
			if err == nil && (!resp.Created || resp.Canceled) {
				err = fmt.Errorf("unexpected watch response %v", resp)
			}
		}
		if err != nil {
			cancel()
			return nil, fmt.Errorf("creating watcher: %w", err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			resp, err := stream.Recv()
			if err != nil {
				if ctx.Err() == nil {
					onResp(nil, err)
				}
				return
			}
			onResp(resp, nil)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// GetPrefixStream reads the range with the RangeStream stub; the chunks'
// keys are disjoint.
func (c *rawV3) GetPrefixStream(ctx context.Context, prefix string) (int, error) {
	stream, err := c.kv.RangeStream(ctx, &pb.RangeRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		n += len(resp.GetRangeResponse().GetKvs())
	}
}

// GetPrefixPaged is the official adapter's loop on the Range stub.
func (c *rawV3) GetPrefixPaged(ctx context.Context, prefix string, pageSize int64) (int, error) {
	req := &pb.RangeRequest{Key: []byte(prefix), RangeEnd: prefixEnd(prefix), Limit: pageSize}
	n := 0
	for {
		resp, err := c.kv.Range(ctx, req)
		if err != nil {
			return 0, err
		}
		if req.Revision == 0 {
			req.Revision = resp.Header.Revision
		}
		n += len(resp.Kvs)
		if !resp.More || len(resp.Kvs) == 0 {
			return n, nil
		}
		last := resp.Kvs[len(resp.Kvs)-1].Key
		req.Key = append(last[:len(last):len(last)], 0)
	}
}

func (c *rawV3) Grant(ctx context.Context, ttl int64) (int64, error) {
	resp, err := c.lease.LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: ttl})
	if err != nil {
		return 0, err
	}
	return resp.ID, nil
}

// KeepAlive sends a keep-alive for every lease every ttl/3 on one stream,
// the schedule the client libraries follow, and counts the responses.
func (c *rawV3) KeepAlive(ctx context.Context, ids []int64, ttl int64, onResp func()) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.lease.LeaseKeepAlive(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Duration(ttl) * time.Second / 3)
		defer tick.Stop()
		req := &pb.LeaseKeepAliveRequest{}
		for {
			for _, id := range ids {
				req.ID = id
				if stream.Send(req) != nil {
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
			onResp()
		}
	}()
	return func() { cancel(); wg.Wait() }, nil
}

func (c *rawV3) Close() error { return c.conn.Close() }

// prefixEnd is the range end that selects every key starting with prefix.
func prefixEnd(prefix string) []byte {
	end := []byte(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}
