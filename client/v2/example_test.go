package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	client "github.com/a74b11dd/etcdkit/client/v2"
)

// The usage example of the official client's README, unchanged but for the
// import path and the endpoints (those of the test cluster, where a program
// would write "http://127.0.0.1:2379").
func Example() {
	cfg := client.Config{
		Endpoints: client.SharedEndpoints(),
		Transport: client.DefaultTransport,
		// set timeout per request to fail fast when the target endpoint is unavailable
		HeaderTimeoutPerRequest: time.Second,
	}
	c, err := client.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	kapi := client.NewKeysAPI(c)

	// set "/foo" key with "bar" value
	resp, err := kapi.Set(context.Background(), "/foo", "bar", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Set is done: action %q on %q\n", resp.Action, resp.Node.Key)

	// get "/foo" key's value
	resp, err = kapi.Get(context.Background(), "/foo", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q key has %q value\n", resp.Node.Key, resp.Node.Value)
	// Output:
	// Set is done: action "set" on "/foo"
	// "/foo" key has "bar" value
}

// Telling the three kinds of error apart, as the official README shows. The
// endpoint here is a port where nothing listens.
func Example_errorHandling() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ln.Close()
	c, err := client.New(client.Config{Endpoints: []string{"http://" + ln.Addr().String()}})
	if err != nil {
		log.Fatal(err)
	}
	kapi := client.NewKeysAPI(c)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	_, err = kapi.Set(ctx, "test", "bar", nil)
	if err != nil {
		if err == context.Canceled {
			fmt.Println("ctx is canceled by another routine")
		} else if err == context.DeadlineExceeded {
			fmt.Println("ctx is attached with a deadline and it exceeded")
		} else if cerr, ok := err.(*client.ClusterError); ok {
			fmt.Printf("cluster error: %d endpoint(s) failed\n", len(cerr.Errors))
		} else {
			fmt.Println("bad cluster endpoints, which are not etcd servers:", err)
		}
	}
	// Output:
	// cluster error: 1 endpoint(s) failed
}
