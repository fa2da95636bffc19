// Code generated from clients_official_fault.go by adapters_test.go; DO NOT EDIT.

package main

import (
	"context"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.uber.org/zap"
)

// etcdkitFault adapts etcdkit's v3 client to faultClient.
type etcdkitFault struct {
	cli *clientv3.Client
}

// newEtcdkitFault makes a client with the settings a user who changes
// nothing gets: only the endpoints and a dial timeout.
func newEtcdkitFault(ctx context.Context, endpoints []string) (faultClient, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		Context:     ctx,
	})
	if err != nil {
		return nil, err
	}
	return &etcdkitFault{cli: cli}, nil
}

func (c *etcdkitFault) Get(ctx context.Context, key string) error {
	_, err := c.cli.Get(ctx, key)
	return err
}

func (c *etcdkitFault) Put(ctx context.Context, key, val string) (int64, error) {
	resp, err := c.cli.Put(ctx, key, val)
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

func (c *etcdkitFault) Watch(ctx context.Context, prefix string, onEvent func(rev int64, err error)) (memberRef, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	wch := c.cli.Watch(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCreatedNotify())
	first, ok := <-wch
	if !ok || first.Err() != nil || !first.Created {
		cancel()
		if ok && first.Err() != nil {
			return memberRef{}, nil, first.Err()
		}
		return memberRef{}, nil, errWatchClosed
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for wr := range wch {
			if err := wr.Err(); err != nil {
				onEvent(0, err)
				continue
			}
			for _, ev := range wr.Events {
				onEvent(ev.Kv.ModRevision, nil)
			}
		}
		if ctx.Err() == nil {
			onEvent(0, errWatchClosed)
		}
	}()
	return memberRef{id: first.Header.MemberId}, func() { cancel(); <-done }, nil
}

func (c *etcdkitFault) Close() error { return c.cli.Close() }
