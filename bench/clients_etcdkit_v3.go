// Code generated from clients_official_v3.go by adapters_test.go; DO NOT EDIT.

package main

import (
	"context"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.uber.org/zap"
)

// etcdkitV3 adapts etcdkit's v3 client to v3Client.
type etcdkitV3 struct {
	cli *clientv3.Client
}

func newEtcdkitV3(ctx context.Context, endpoints []string) (v3Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(), // the same for both clients; logging is not what we measure
		Context:     ctx,
	})
	if err != nil {
		return nil, err
	}
	return &etcdkitV3{cli: cli}, nil
}

func (c *etcdkitV3) Put(ctx context.Context, key, val string) error {
	_, err := c.cli.Put(ctx, key, val)
	return err
}

func (c *etcdkitV3) Get(ctx context.Context, key string, serializable bool) (int, error) {
	var resp *clientv3.GetResponse
	var err error
	if serializable {
		resp, err = c.cli.Get(ctx, key, clientv3.WithSerializable())
	} else {
		resp, err = c.cli.Get(ctx, key)
	}
	if err != nil {
		return 0, err
	}
	return len(resp.Kvs), nil
}

func (c *etcdkitV3) GetPrefix(ctx context.Context, prefix string) (int, error) {
	resp, err := c.cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	return len(resp.Kvs), nil
}

func (c *etcdkitV3) Delete(ctx context.Context, key string) (int64, error) {
	resp, err := c.cli.Delete(ctx, key)
	if err != nil {
		return 0, err
	}
	return resp.Deleted, nil
}

func (c *etcdkitV3) PutIfEqual(ctx context.Context, key, want, val string) (bool, error) {
	resp, err := c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", want)).
		Then(clientv3.OpPut(key, val)).
		Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

func (c *etcdkitV3) Watch(ctx context.Context, prefix string, n int, onEvents func(int, error)) (func(), error) {
	open := func(ctx context.Context, _ int) <-chan clientv3.WatchResponse {
		return c.cli.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	}
	inspect := func(r *clientv3.WatchResponse) (bool, int, error) {
		return r.Created, len(r.Events), r.Err()
	}
	return runWatchers(ctx, n, open, inspect, onEvents)
}

func (c *etcdkitV3) WatchEach(ctx context.Context, keys []string, prefix bool, onEvent func(int64, error)) (func(), error) {
	opts := []clientv3.OpOption{clientv3.WithCreatedNotify()}
	if prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	open := func(ctx context.Context, i int) <-chan clientv3.WatchResponse {
		return c.cli.Watch(ctx, keys[i], opts...)
	}
	inspect := func(r *clientv3.WatchResponse) (bool, int, error) {
		for _, ev := range r.Events {
			onEvent(ev.Kv.ModRevision, nil)
		}
		return r.Created, 0, r.Err()
	}
	return runWatchers(ctx, len(keys), open, inspect, func(_ int, err error) { onEvent(0, err) })
}

func (c *etcdkitV3) GetPrefixStream(ctx context.Context, prefix string) (int, error) {
	chunks, err := c.cli.GetStream(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	n := 0
	for r := range chunks {
		if err := r.Err(); err != nil {
			return 0, err // the last chunk: the channel is closed after it
		}
		n += len(r.Kvs)
	}
	return n, nil
}

// GetPrefixPaged is the loop a user of the official client writes, which
// has no paged reader: each page starts just after the last key of the one
// before, at the first page's revision.
func (c *etcdkitV3) GetPrefixPaged(ctx context.Context, prefix string, pageSize int64) (int, error) {
	end := clientv3.GetPrefixRangeEnd(prefix)
	key, rev, n := prefix, int64(0), 0
	for {
		resp, err := c.cli.Get(ctx, key, clientv3.WithRange(end), clientv3.WithLimit(pageSize), clientv3.WithRev(rev))
		if err != nil {
			return 0, err
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		n += len(resp.Kvs)
		if !resp.More || len(resp.Kvs) == 0 {
			return n, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func (c *etcdkitV3) Grant(ctx context.Context, ttl int64) (int64, error) {
	resp, err := c.cli.Grant(ctx, ttl)
	if err != nil {
		return 0, err
	}
	return int64(resp.ID), nil
}

func (c *etcdkitV3) KeepAlive(ctx context.Context, ids []int64, _ int64, onResp func()) (func(), error) {
	open := func(ctx context.Context, id int64) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
		return c.cli.KeepAlive(ctx, clientv3.LeaseID(id))
	}
	return runKeepAlives(ctx, ids, open, onResp)
}

func (c *etcdkitV3) Close() error { return c.cli.Close() }
