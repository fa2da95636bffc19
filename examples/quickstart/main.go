// Command quickstart runs the usage from the etcd client READMEs against a
// real etcd, step by step, printing what each step does.
//
//	go run ./examples/quickstart             # starts local etcd servers itself
//	go run ./examples/quickstart -endpoints host:2379,... [-v2-endpoints http://host:2379,...]
//
// Without -endpoints it starts, through etcdtest, a one-member etcd 3.7 for
// the v3 client and a one-member etcd 3.5 with the v2 API on for the v2
// client (server binaries are built on first use), and removes them on exit.
// With -endpoints, the v2 example runs only if -v2-endpoints names the client
// URLs of a cluster that serves the v2 API (etcd 3.5 with --enable-v2).
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
	endpoints := flag.String("endpoints", "", "comma-separated etcd endpoints for the v3 client; empty starts local servers")
	v2Endpoints := flag.String("v2-endpoints", "", "comma-separated client URLs of a cluster serving the v2 API")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, *endpoints, *v2Endpoints)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
	fmt.Println("done")
}

func run(ctx context.Context, endpoints, v2Endpoints string) error {
	eps, urls := split(endpoints), split(v2Endpoints)
	if len(eps) == 0 {
		step("starting a local one-member etcd 3.7 for the v3 client (etcdtest)")
		c3, err := etcdtest.Start(ctx, etcdtest.WithVersion(etcdtest.V3_7))
		if err != nil {
			return fmt.Errorf("starting etcd 3.7: %w", err)
		}
		defer func() {
			step("stopping the local etcd 3.7")
			c3.Close()
		}()
		step("starting a local one-member etcd 3.5 with the v2 API for the v2 client (etcdtest)")
		c2, err := etcdtest.Start(ctx, etcdtest.WithVersion(etcdtest.V3_5), etcdtest.WithV2())
		if err != nil {
			return fmt.Errorf("starting etcd 3.5: %w", err)
		}
		defer func() {
			step("stopping the local etcd 3.5")
			c2.Close()
		}()
		eps, urls = c3.Endpoints(), c2.ClientURLs()
	}
	fmt.Printf("    v3 endpoints: %s\n", strings.Join(eps, ", "))

	if err := runV3(ctx, eps); err != nil {
		return fmt.Errorf("v3: %w", err)
	}
	if len(urls) == 0 {
		step("v2: skipped (no -v2-endpoints given)")
		return nil
	}
	fmt.Printf("    v2 endpoints: %s\n", strings.Join(urls, ", "))
	if err := runV2(ctx, urls); err != nil {
		return fmt.Errorf("v2: %w", err)
	}
	return nil
}

func split(list string) []string {
	var out []string
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
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
