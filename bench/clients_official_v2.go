package main

import (
	"context"
	"net/http"

	client "go.etcd.io/etcd/client/v2"
)

// officialV2 adapts the official v2 client to v2Client.
// It is the source of its etcdkit twin: edit it, then run
// `go test -run TestEtcdkitAdaptersMirrorOfficial -update-adapters`.
type officialV2 struct {
	transport *http.Transport
	keys      client.KeysAPI
}

func newOfficialV2(_ context.Context, urls []string) (v2Client, error) {
	// A transport of its own, like http.DefaultTransport, so that closing
	// the adapter closes its connections and no client reuses another's.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c, err := client.New(client.Config{Endpoints: urls, Transport: tr})
	if err != nil {
		return nil, err
	}
	return &officialV2{transport: tr, keys: client.NewKeysAPI(c)}, nil
}

func (c *officialV2) Set(ctx context.Context, key, val string) error {
	_, err := c.keys.Set(ctx, key, val, nil)
	return err
}

func (c *officialV2) Get(ctx context.Context, key string, quorum, recursive bool) (int, error) {
	resp, err := c.keys.Get(ctx, key, &client.GetOptions{Quorum: quorum, Recursive: recursive})
	if err != nil {
		return 0, err
	}
	if resp.Node.Dir {
		return len(resp.Node.Nodes), nil
	}
	return 1, nil
}

func (c *officialV2) Watch(_ context.Context, prefix string, afterIndex uint64) (func(context.Context) error, error) {
	w := c.keys.Watcher(prefix, &client.WatcherOptions{AfterIndex: afterIndex, Recursive: true})
	return func(ctx context.Context) error {
		_, err := w.Next(ctx)
		return err
	}, nil
}

func (c *officialV2) Close() error {
	c.transport.CloseIdleConnections()
	return nil
}
