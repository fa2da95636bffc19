package main

import (
	"context"
	"errors"
	"time"

	client "go.etcd.io/etcd/client/v2"
)

// officialFaultV2 adapts the official v2 client to faultClient.
// It is the source of its etcdkit twin: edit it, then run
// `go test -run TestEtcdkitAdaptersMirrorOfficial -update-adapters`.
type officialFaultV2 struct {
	spy  *watchSpy
	keys client.KeysAPI
}

// newOfficialFaultV2 makes a client with the settings a user who follows
// the v2 client's README gets: the endpoints, a transport, and a header
// timeout per request.
func newOfficialFaultV2(_ context.Context, urls []string) (faultClient, error) {
	spy := newWatchSpy()
	c, err := client.New(client.Config{Endpoints: urls, Transport: spy, HeaderTimeoutPerRequest: v2HeaderTimeout})
	if err != nil {
		return nil, err
	}
	return &officialFaultV2{spy: spy, keys: client.NewKeysAPI(c)}, nil
}

// Get is a quorum read, the v2 API's linearizable one.
func (c *officialFaultV2) Get(ctx context.Context, key string) error {
	_, err := c.keys.Get(ctx, key, &client.GetOptions{Quorum: true})
	return err
}

func (c *officialFaultV2) Put(ctx context.Context, key, val string) (int64, error) {
	resp, err := c.keys.Set(ctx, key, val, nil)
	if err != nil {
		return 0, err
	}
	return int64(resp.Node.ModifiedIndex), nil
}

// Watch watches prefix recursively from the cluster's current index; an
// event's revision is its node's modified index. A failed Next is reported
// and Next is called again, as a user who keeps watching would; when the
// member no longer holds the events after the watcher's index, the watch
// starts again from the index the error carries, as the v2 API documents
// (the events in between are lost).
func (c *officialFaultV2) Watch(ctx context.Context, prefix string, onEvent func(rev int64, err error)) (memberRef, func(), error) {
	now, err := c.keys.Get(ctx, "/", nil)
	if err != nil {
		return memberRef{}, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := c.keys.Watcher(prefix, &client.WatcherOptions{AfterIndex: now.Index, Recursive: true})
	sent := c.spy.expectWatch()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			resp, err := w.Next(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				onEvent(0, err)
				var cerr client.Error
				if errors.As(err, &cerr) && cerr.Code == client.ErrorCodeEventIndexCleared {
					w = c.keys.Watcher(prefix, &client.WatcherOptions{AfterIndex: cerr.Index, Recursive: true})
				}
				sleepCtx(ctx, 10*time.Millisecond)
			default:
				onEvent(int64(resp.Node.ModifiedIndex), nil)
			}
		}
	}()
	stop := func() { cancel(); <-done }
	select {
	case host := <-sent:
		return memberRef{endpoint: host}, stop, nil
	case <-ctx.Done():
		stop()
		return memberRef{}, nil, ctx.Err()
	}
}

func (c *officialFaultV2) Close() error {
	c.spy.CloseIdleConnections()
	return nil
}
