package main

import (
	"context"
	"fmt"
	"time"

	client "github.com/a74b11dd/etcdkit/client/v2"
)

// runV2 is the v2 README's usage: a client that fails fast per request, Set
// "/foo", Get it back, and the README's error classification.
func runV2(ctx context.Context, endpoints []string) error {
	step("v2: client.New(Config{Endpoints, Transport: DefaultTransport, HeaderTimeoutPerRequest: 1s})")
	c, err := client.New(client.Config{
		Endpoints: endpoints,
		Transport: client.DefaultTransport,
		// set timeout per request to fail fast when the target endpoint is unavailable
		HeaderTimeoutPerRequest: time.Second,
	})
	if err != nil {
		return err
	}
	kapi := client.NewKeysAPI(c)

	step(`v2: kapi.Set(ctx, "/foo", "bar", nil)`)
	resp, err := kapi.Set(ctx, "/foo", "bar", nil)
	if err != nil {
		return classifyV2(err)
	}
	fmt.Printf("    Set is done. Metadata is %+v\n", resp) // the README has %q, which vet rejects for a struct

	step(`v2: kapi.Get(ctx, "/foo", nil)`)
	resp, err = kapi.Get(ctx, "/foo", nil)
	if err != nil {
		return classifyV2(err)
	}
	fmt.Printf("    Get is done. Metadata is %+v\n", resp)
	fmt.Printf("    %q key has %q value\n", resp.Node.Key, resp.Node.Value)
	return nil
}

// classifyV2 is the README's error handling: the three kinds of error the
// v2 client returns, told apart as the README tells them apart.
func classifyV2(err error) error {
	if err == context.Canceled {
		return fmt.Errorf("ctx is canceled by another routine: %w", err)
	} else if err == context.DeadlineExceeded {
		return fmt.Errorf("ctx is attached with a deadline and it exceeded: %w", err)
	} else if cerr, ok := err.(*client.ClusterError); ok {
		return fmt.Errorf("every endpoint failed: %w\n%s", err, cerr.Detail())
	}
	return fmt.Errorf("bad cluster endpoints, which are not etcd servers: %w", err)
}
