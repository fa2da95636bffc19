package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// faultAPI is what the fault scenarios need to know about one etcd API:
// the cluster that serves it, how its clients reach the members, the
// clients to compare, and a feeder for the watch.
type faultAPI struct {
	name      string // "v3" or "v2"
	version   etcdtest.Version
	opts      []etcdtest.Option // beyond the size and version
	settings  string            // the client settings, for the table's header
	endpoints func(*etcdtest.Cluster) []string
	// newFeeder writes to the given members directly, bypassing the
	// fault proxies.
	newFeeder func(members []*etcdtest.Member) (faultFeeder, error)
	factories []faultFactory
	// electionMs, if set, is the members' --election-timeout in
	// milliseconds, with a tenth of it as --heartbeat-interval (etcd's
	// ratio); zero leaves etcd's defaults, 1000 and 100.
	electionMs int
}

// clusterOpts returns the options of the cluster a scenario of a runs on,
// beyond its size.
func (a faultAPI) clusterOpts() []etcdtest.Option {
	opts := append([]etcdtest.Option{etcdtest.WithVersion(a.version), etcdtest.WithFlags("--unsafe-no-fsync")}, a.opts...)
	if a.electionMs > 0 {
		opts = append(opts, etcdtest.WithFlags(
			fmt.Sprintf("--heartbeat-interval=%d", max(a.electionMs/10, 1)),
			fmt.Sprintf("--election-timeout=%d", a.electionMs)))
	}
	return opts
}

// faultFeeder writes the keys the scenario's watch should see.
type faultFeeder interface {
	// Put writes key and returns the revision (v3) or index (v2) of the
	// write.
	Put(ctx context.Context, key, val string) (int64, error)
	Close() error
}

// v2HeaderTimeout is the HeaderTimeoutPerRequest that the v2 client's
// README has its users set "to fail fast when the target endpoint is
// unavailable"; both v2 clients get it.
const v2HeaderTimeout = time.Second

func faultAPIs() []faultAPI {
	return []faultAPI{
		{
			name: "v3", version: etcdtest.V3_7,
			settings:  "only the endpoints and a 5 s dial timeout",
			endpoints: (*etcdtest.Cluster).Endpoints,
			newFeeder: newV3Feeder,
			factories: []faultFactory{{clientEtcdkit, newEtcdkitFault}, {clientOfficial, newOfficialFault}},
		},
		{
			name: "v2", version: etcdtest.V3_5, opts: []etcdtest.Option{etcdtest.WithV2()},
			settings: "the endpoints, a transport of their own (a copy of net/http's default one) and " +
				"HeaderTimeoutPerRequest: " + v2HeaderTimeout.String() + ", as the v2 client's README tells its users",
			endpoints: (*etcdtest.Cluster).ClientURLs,
			newFeeder: newV2Feeder,
			factories: []faultFactory{{clientEtcdkit, newEtcdkitFaultV2}, {clientOfficial, newOfficialFaultV2}},
		},
	}
}

type v3Feeder struct{ raw *rawV3 }

func newV3Feeder(members []*etcdtest.Member) (faultFeeder, error) {
	var eps []string
	for _, m := range members {
		eps = append(eps, m.DirectEndpoint())
	}
	raw, err := dialRawV3(eps)
	if err != nil {
		return nil, err
	}
	return v3Feeder{raw}, nil
}

func (f v3Feeder) Put(ctx context.Context, key, val string) (int64, error) {
	resp, err := f.raw.kv.Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte(val)})
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

func (f v3Feeder) Close() error { return f.raw.Close() }

type v2Feeder struct{ raw *rawV2 }

func newV2Feeder(members []*etcdtest.Member) (faultFeeder, error) {
	var urls []string
	for _, m := range members {
		urls = append(urls, "http://"+m.DirectEndpoint())
	}
	return v2Feeder{dialRawV2(urls)}, nil
}

func (f v2Feeder) Put(ctx context.Context, key, val string) (int64, error) {
	idx, err := f.raw.setIndex(ctx, key, val)
	return int64(idx), err
}

func (f v2Feeder) Close() error { return f.raw.Close() }

// watchSpy is a v2 client's transport that tells which member a watch went
// to: the v2 API does not say which member answers, so the scenario learns
// it from the host of the first watch request (wait=true) sent after
// expectWatch.
type watchSpy struct {
	*http.Transport
	mu   sync.Mutex
	sent chan string
}

func newWatchSpy() *watchSpy {
	return &watchSpy{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

// expectWatch returns a channel that receives the host of the next watch
// request.
func (s *watchSpy) expectWatch() <-chan string {
	ch := make(chan string, 1)
	s.mu.Lock()
	s.sent = ch
	s.mu.Unlock()
	return ch
}

func (s *watchSpy) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Query().Get("wait") == "true" {
		s.mu.Lock()
		if s.sent != nil {
			s.sent <- req.URL.Host
			s.sent = nil
		}
		s.mu.Unlock()
	}
	return s.Transport.RoundTrip(req)
}
