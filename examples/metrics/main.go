// Command metrics shows an etcd client's RPC metrics in Prometheus format.
//
// The client is instrumented with the Prometheus interceptors of
// grpc-ecosystem/go-grpc-middleware, passed in through
// clientv3.Config.DialOptions; the etcd client library itself does not
// depend on Prometheus. Run it against a cluster and scrape /metrics:
//
//	go run . -endpoints 127.0.0.1:2379 -listen 127.0.0.1:9100
//	curl -s 127.0.0.1:9100/metrics | grep grpc_client
//
// This example is a module of its own so that Prometheus never becomes a
// requirement of the etcdkit module.
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"strings"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
)

// newInstrumentedClient returns a client of endpoints whose unary and
// streaming RPCs are counted and timed in the returned registry.
func newInstrumentedClient(endpoints []string) (*clientv3.Client, *prometheus.Registry, error) {
	metrics := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram())
	reg := prometheus.NewRegistry()
	if err := reg.Register(metrics); err != nil {
		return nil, nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		DialOptions: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(metrics.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(metrics.StreamClientInterceptor()),
		},
	})
	if err != nil {
		return nil, nil, err
	}
	return cli, reg, nil
}

// metricsHandler serves the registry's metrics.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated etcd endpoints")
	listen := flag.String("listen", "127.0.0.1:9100", "address to serve /metrics on")
	flag.Parse()

	cli, reg, err := newInstrumentedClient(strings.Split(*endpoints, ","))
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if _, err := cli.Put(ctx, "metrics-example", "hello"); err != nil {
		log.Printf("put: %v", err)
	}
	if _, err := cli.Get(ctx, "metrics-example"); err != nil {
		log.Printf("get: %v", err)
	}
	cancel()

	http.Handle("/metrics", metricsHandler(reg))
	log.Printf("serving metrics on http://%s/metrics", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
