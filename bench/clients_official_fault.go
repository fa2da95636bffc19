package main

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// officialFault adapts the official v3 client to faultClient.
// It is the source of its etcdkit twin: edit it, then run
// `go test -run TestEtcdkitAdaptersMirrorOfficial -update-adapters`.
type officialFault struct {
	cli *clientv3.Client
}

// newOfficialFault makes a client with the settings a user who changes
// nothing gets: only the endpoints and a dial timeout.
func newOfficialFault(ctx context.Context, endpoints []string) (faultClient, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		Context:     ctx,
	})
	if err != nil {
		return nil, err
	}
	return &officialFault{cli: cli}, nil
}

func (c *officialFault) Get(ctx context.Context, key string) error {
	_, err := c.cli.Get(ctx, key)
	return err
}

func (c *officialFault) Put(ctx context.Context, key, val string) (int64, error) {
	resp, err := c.cli.Put(ctx, key, val)
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

func (c *officialFault) Watch(ctx context.Context, prefix string, onEvent func(rev int64, err error)) (memberRef, func(), error) {
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

func (c *officialFault) Close() error { return c.cli.Close() }
