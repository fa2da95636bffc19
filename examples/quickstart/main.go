// Command quickstart runs the usage from the etcd client READMEs against a
// real etcd, step by step, printing what each step does.
//
//	go run ./examples/quickstart                          # starts a local etcd 3.7 itself
//	go run ./examples/quickstart -endpoints host:2379,... # uses an existing cluster
//
// Without -endpoints it starts a one-member etcd 3.7 through etcdtest (the
// server binary is built on first use) and removes it on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

func main() {
	endpoints := flag.String("endpoints", "", "comma-separated etcd endpoints; empty starts a local etcd 3.7")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, *endpoints)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	fmt.Println("done")
}

func run(ctx context.Context, endpoints string) error {
	var eps, urls []string
	if endpoints == "" {
		step("starting a local one-member etcd 3.7 (etcdtest)")
		c, err := etcdtest.Start(ctx, etcdtest.WithVersion(etcdtest.V3_7))
		if err != nil {
			return fmt.Errorf("starting etcd: %w", err)
		}
		defer func() {
			step("stopping the local etcd")
			c.Close()
		}()
		eps, urls = c.Endpoints(), c.ClientURLs()
	} else {
		for _, e := range strings.Split(endpoints, ",") {
			if e = strings.TrimSpace(e); e != "" {
				eps = append(eps, e)
			}
		}
		urls = eps
	}
	fmt.Printf("    endpoints: %s\n", strings.Join(eps, ", "))

	if err := runV3(ctx, eps); err != nil {
		return fmt.Errorf("v3: %w", err)
	}

	// ---- v2 example -------------------------------------------------
	// The client/v2 seed usage goes here once client/v2 exists; it
	// talks to urls (the http:// client URLs). Kept as a marked place so
	// this file has one section per client.
	_ = urls
	// ---- end of v2 example ------------------------------------------
	return nil
}

// runV3 is the v3 README's usage: create a client, Put with a timeout,
// read it back, and the README's error-handling switch.
func runV3(ctx context.Context, endpoints []string) error {
	step("v3: clientv3.New(Config{Endpoints, DialTimeout: 5s})")
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return err
	}
	defer func() {
		step("v3: cli.Close()")
		cli.Close()
	}()

	const timeout = 5 * time.Second

	step(`v3: cli.Put(ctx, "sample_key", "sample_value")`)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	resp, err := cli.Put(pctx, "sample_key", "sample_value")
	cancel()
	if err != nil {
		return err
	}
	fmt.Printf("    stored at revision %d\n", resp.Header.Revision)

	step(`v3: cli.Get(ctx, "sample_key")`)
	gctx, cancel := context.WithTimeout(ctx, timeout)
	get, err := cli.Get(gctx, "sample_key")
	cancel()
	if err != nil {
		return err
	}
	for _, kv := range get.Kvs {
		fmt.Printf("    %s = %s (version %d)\n", kv.Key, kv.Value, kv.Version)
	}

	step(`v3: cli.Put(ctx, "", "") and the README's error switch`)
	ectx, cancel := context.WithTimeout(ctx, timeout)
	_, err = cli.Put(ectx, "", "")
	cancel()
	if err == nil {
		return errors.New("Put of an empty key succeeded")
	}
	switch err {
	case context.Canceled:
		return fmt.Errorf("ctx is canceled by another routine: %v", err)
	case context.DeadlineExceeded:
		return fmt.Errorf("ctx is attached with a deadline is exceeded: %v", err)
	case rpctypes.ErrEmptyKey:
		fmt.Printf("    client-side error, as expected: %v\n", err)
	default:
		return fmt.Errorf("bad cluster endpoints, which are not etcd servers: %v", err)
	}
	fmt.Printf("    errors.Is(err, rpctypes.ErrEmptyKey) = %v\n", errors.Is(err, rpctypes.ErrEmptyKey))
	return nil
}

func step(s string) { fmt.Println("==>", s) }
