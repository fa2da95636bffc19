// Code generated from clients_official_v2.go by adapters_test.go; DO NOT EDIT.

package main

import (
	"context"
	"net/http"

	client "github.com/a74b11dd/etcdkit/client/v2"
)

// etcdkitV2 adapts etcdkit's v2 client to v2Client.
type etcdkitV2 struct {
	transport *http.Transport
	keys      client.KeysAPI
}

func newEtcdkitV2(_ context.Context, urls []string) (v2Client, error) {
	// A transport of its own, like http.DefaultTransport, so that closing
	// the adapter closes its connections and no client reuses another's.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c, err := client.New(client.Config{Endpoints: urls, Transport: tr})
	if err != nil {
		return nil, err
	}
	return &etcdkitV2{transport: tr, keys: client.NewKeysAPI(c)}, nil
}

func (c *etcdkitV2) Set(ctx context.Context, key, val string) error {
	_, err := c.keys.Set(ctx, key, val, nil)
	return err
}

func (c *etcdkitV2) Get(ctx context.Context, key string, quorum, recursive bool) (int, error) {
	resp, err := c.keys.Get(ctx, key, &client.GetOptions{Quorum: quorum, Recursive: recursive})
	if err != nil {
		return 0, err
	}
	if resp.Node.Dir {
		return len(resp.Node.Nodes), nil
	}
	return 1, nil
}

func (c *etcdkitV2) Watch(_ context.Context, prefix string, afterIndex uint64) (func(context.Context) error, error) {
	w := c.keys.Watcher(prefix, &client.WatcherOptions{AfterIndex: afterIndex, Recursive: true})
	return func(ctx context.Context) error {
		_, err := w.Next(ctx)
		return err
	}, nil
}

func (c *etcdkitV2) Close() error {
	c.transport.CloseIdleConnections()
	return nil
}
