package clientv3_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

func TestNewWithoutEndpointsFailsWithErrNoAvailableEndpoints(t *testing.T) {
	_, err := clientv3.New(clientv3.Config{})
	if err != clientv3.ErrNoAvailableEndpoints {
		t.Fatalf("err = %v, want ErrNoAvailableEndpoints", err)
	}
}

func TestNewRejectsMalformedEndpointsWithAClearError(t *testing.T) {
	for _, ep := range []string{"localhost", "ftp://h:1", "http://h:1/path"} {
		_, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}})
		if err == nil || !strings.Contains(err.Error(), ep) {
			t.Errorf("New(%q): err = %v, want an error naming the endpoint", ep, err)
		}
	}
}

func TestNewRejectsTokenTogetherWithPassword(t *testing.T) {
	_, err := clientv3.New(clientv3.Config{Endpoints: shared.Endpoints(), Username: "u", Password: "p", Token: "t"})
	if err != clientv3.ErrMutuallyExclusiveCfg {
		t.Fatalf("err = %v, want ErrMutuallyExclusiveCfg", err)
	}
}

func TestAUsernameWithoutAPasswordIsNotKeptAsTheOfficialClientIgnoresIt(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) { cfg.Username = "u" })
	if cli.Username != "" || cli.Password != "" {
		t.Errorf("Client.Username, Password = %q, %q; want both empty when only a username is configured", cli.Username, cli.Password)
	}
	both := newClient(t, withUser("u", "p"))
	if both.Username != "u" || both.Password != "p" {
		t.Errorf("Client.Username, Password = %q, %q; want u, p", both.Username, both.Password)
	}
}

func TestNewFromURLsTalksToTheCluster(t *testing.T) {
	cli, err := clientv3.NewFromURLs(shared.ClientURLs())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Get(ctxT(t), "k"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	one, err := clientv3.NewFromURL(shared.ClientURLs()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if got := one.Endpoints(); !slices.Equal(got, shared.ClientURLs()[:1]) {
		t.Errorf("Endpoints() = %v, want %v", got, shared.ClientURLs()[:1])
	}
}

func TestNewDoesNotWaitForAnUnreachableEndpoint(t *testing.T) {
	// As in the official v3.7, creation does not block on connecting;
	// the first call waits for a connection within its own deadline.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1"}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := cli.Get(ctx, "k"); err != context.DeadlineExceeded {
		t.Fatalf("Get: err = %v, want context.DeadlineExceeded", err)
	}
}

func TestClientOverTLSWithCAOnly(t *testing.T) {
	c := startCluster(t, 1, etcdtest.WithClientTLS())
	tlsCfg, err := c.TLS().ClientConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	unixEp, err := c.Members()[0].UnixEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	unixsEp := "unixs" + strings.TrimPrefix(unixEp, "unix")
	for name, cfg := range map[string]clientv3.Config{
		"host:port with Config.TLS":      {Endpoints: c.Endpoints(), TLS: tlsCfg},
		"https URLs":                     {Endpoints: c.ClientURLs(), TLS: tlsCfg},
		"a unix socket with Config.TLS":  {Endpoints: []string{unixEp}, TLS: tlsCfg},
		"a unixs socket with Config.TLS": {Endpoints: []string{unixsEp}, TLS: tlsCfg},
	} {
		cfg.Logger = zap.NewNop()
		cli, err := clientv3.New(cfg)
		if err != nil {
			t.Fatalf("%s: New: %v", name, err)
		}
		if _, err := cli.Put(ctxT(t), key(t, "k"), "v"); err != nil {
			t.Errorf("%s: Put: %v", name, err)
		}
		cli.Close()
	}
}

// A unix:// endpoint is plaintext when the config has no TLS, as the
// official client's is.
func TestAUnixEndpointWithoutTLSIsPlaintext(t *testing.T) {
	ep, err := shared.Members()[0].UnixEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newClientAt(t, []string{ep}).Put(ctxT(t), key(t, "k"), "v"); err != nil {
		t.Fatalf("Put through %s: %v", ep, err)
	}
}

func TestHTTPSEndpointWithoutTrustedCAFailsTheHandshake(t *testing.T) {
	c := startCluster(t, 1, etcdtest.WithClientTLS())
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.ClientURLs(), Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := cli.Get(ctx, "k"); err == nil {
		t.Fatal("Get over https with an untrusted server certificate succeeded")
	}
}

func TestClientWithMutualTLS(t *testing.T) {
	c := startCluster(t, 1, etcdtest.WithClientTLS(), etcdtest.WithClientCertAuth())
	withCert, err := c.TLS().ClientConfig(true)
	if err != nil {
		t.Fatal(err)
	}
	cli := newClientOf(t, c, func(cfg *clientv3.Config) { cfg.TLS = withCert })
	if _, err := cli.Put(ctxT(t), key(t, "k"), "v"); err != nil {
		t.Fatalf("Put with client certificate: %v", err)
	}

	noCert, err := c.TLS().ClientConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	bad := newClientOf(t, c, func(cfg *clientv3.Config) { cfg.TLS = noCert })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := bad.Get(ctx, "k"); err == nil {
		t.Fatal("Get without a client certificate succeeded on a cluster that requires one")
	}
}

func TestKeepAliveSettingsKeepTheClientWorking(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) {
		cfg.DialKeepAliveTime = 10 * time.Second
		cfg.DialKeepAliveTimeout = 3 * time.Second
		cfg.PermitWithoutStream = true
	})
	if _, err := cli.Get(ctxT(t), "k"); err != nil {
		t.Fatal(err)
	}
}

func TestSetEndpointsMovesCallsToTheNewEndpoints(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) { cfg.Endpoints = []string{"127.0.0.1:1"} })
	cli.SetEndpoints(shared.Endpoints()...)
	if got := cli.Endpoints(); !slices.Equal(got, shared.Endpoints()) {
		t.Fatalf("Endpoints() = %v, want %v", got, shared.Endpoints())
	}
	if _, err := cli.Get(ctxT(t), "k"); err != nil {
		t.Fatalf("Get after SetEndpoints: %v", err)
	}
}

func TestSetEndpointsLeavesOutWhatItCannotDialAndNeverStrandsTheClient(t *testing.T) {
	cli := newClient(t)
	before := cli.Endpoints()
	cli.SetEndpoints()
	cli.SetEndpoints("ftp://h:1", "localhost")
	if got := cli.Endpoints(); !slices.Equal(got, before) {
		t.Fatalf("Endpoints() after setting none usable = %v, want the previous %v", got, before)
	}
	cli.SetEndpoints(append([]string{"http://h:1/path"}, before...)...)
	if got := cli.Endpoints(); !slices.Equal(got, before) {
		t.Fatalf("Endpoints() after setting one bad and the good ones = %v, want %v", got, before)
	}
	if _, err := cli.Get(ctxT(t), "k"); err != nil {
		t.Fatalf("Get after SetEndpoints with bad entries: %v", err)
	}
	if eps := clientv3.NewCtxClient(context.Background()).Endpoints(); eps == nil || len(eps) != 0 {
		t.Errorf("Endpoints() of a client without endpoints = %#v, want an empty, non-nil slice as the official returns", eps)
	}
}

func TestSyncReplacesEndpointsWithMemberClientURLs(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) { cfg.Endpoints = shared.Endpoints()[:1] })
	if err := cli.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got := cli.Endpoints()
	if len(got) != 3 {
		t.Fatalf("Endpoints() after Sync = %v, want the 3 members' client URLs", got)
	}
	if _, err := cli.Get(ctxT(t), "k"); err != nil {
		t.Fatalf("Get after Sync: %v", err)
	}
}

func TestAutoSyncUpdatesEndpoints(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) {
		cfg.Endpoints = shared.Endpoints()[:1]
		cfg.AutoSyncInterval = 50 * time.Millisecond
	})
	deadline := time.Now().Add(10 * time.Second)
	for len(cli.Endpoints()) != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("Endpoints() = %v after 10s of auto-sync, want 3", cli.Endpoints())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDialReachesASingleEndpoint(t *testing.T) {
	cli := newClient(t)
	conn, err := cli.Dial(shared.Members()[1].Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := pb.NewMaintenanceClient(conn).Status(ctxT(t), &pb.StatusRequest{})
	if err != nil {
		t.Fatalf("Status over Dial: %v", err)
	}
	if resp.Header.MemberId != shared.Members()[1].ID() {
		t.Errorf("Status answered by member %x, want %x", resp.Header.MemberId, shared.Members()[1].ID())
	}
	if _, err := cli.Dial("not an endpoint"); err == nil {
		t.Error("Dial of a malformed endpoint succeeded")
	}
}

func TestActiveConnectionIsUsableForRawRPCs(t *testing.T) {
	cli := newClient(t)
	conn := cli.ActiveConnection()
	if conn == nil {
		t.Fatal("ActiveConnection() = nil")
	}
	if _, err := pb.NewKVClient(conn).Range(ctxT(t), &pb.RangeRequest{Key: []byte("k")}); err != nil {
		t.Fatalf("Range over ActiveConnection: %v", err)
	}
}

func TestRequestLargerThanMaxCallSendMsgSizeFailsBeforeSending(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) { cfg.MaxCallSendMsgSize = 1024 })
	k := key(t, "big")
	_, err := cli.Put(ctxT(t), k, strings.Repeat("x", 4096))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("Put of 4 KiB with a 1 KiB limit: err = %v, want ResourceExhausted", err)
	}
	get, err := cli.Get(ctxT(t), k)
	if err != nil || len(get.Kvs) != 0 {
		t.Fatalf("the oversized Put was applied: %v, %v", get, err)
	}
}

func TestSendLimitAboveReceiveLimitIsRejected(t *testing.T) {
	_, err := clientv3.New(clientv3.Config{Endpoints: shared.Endpoints(), MaxCallSendMsgSize: 10, MaxCallRecvMsgSize: 5})
	if err == nil {
		t.Fatal("New accepted MaxCallSendMsgSize > MaxCallRecvMsgSize")
	}
}

func TestRejectOldClusterAcceptsACurrentCluster(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) { cfg.RejectOldCluster = true })
	if _, err := cli.Get(ctxT(t), "k"); err != nil {
		t.Fatal(err)
	}
}

// The official client v3.7 accepts the release before its own, 3.6, and
// nothing older.
func TestRejectOldClusterRefusesAClusterOlderThanTheReleaseBeforeTheClients(t *testing.T) {
	old := etcdtest.NewCluster(t, etcdtest.WithVersion(etcdtest.V3_5))
	cli, err := clientv3.New(clientv3.Config{Endpoints: old.Endpoints(), RejectOldCluster: true, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err == nil {
		cli.Close()
	}
	if err != clientv3.ErrOldCluster {
		t.Fatalf("New with RejectOldCluster on etcd 3.5 = %v; want ErrOldCluster", err)
	}
}

func TestASecondCloseReturnsContextCanceledAsTheOfficialClientsDoes(t *testing.T) {
	cli := newClient(t)
	if err := cli.Close(); err != nil {
		t.Fatalf("first Close = %v; want nil", err)
	}
	if err := cli.Close(); err != context.Canceled {
		t.Fatalf("second Close = %v; want context.Canceled", err)
	}
}

func TestIsConnCanceledMatchesWhatTheOfficialClientMatches(t *testing.T) {
	for _, err := range []error{
		status.Error(codes.Canceled, "context canceled"),
		status.Error(codes.Unavailable, "transport is closing"),
		context.Canceled,
		errors.New("rpc error: grpc: the client connection is closing"),
	} {
		if !clientv3.IsConnCanceled(err) {
			t.Errorf("IsConnCanceled(%v) = false; want true", err)
		}
	}
	if clientv3.IsConnCanceled(status.Error(codes.Unavailable, "connection refused")) {
		t.Error("IsConnCanceled of an unavailable member = true; want false")
	}
}

func TestNewCtxClientHasNoConnectionAndFailsCallsCleanly(t *testing.T) {
	cli := clientv3.NewCtxClient(context.Background(), clientv3.WithZapLogger(zap.NewNop()))
	if cli.ActiveConnection() != nil {
		t.Error("ActiveConnection() of a NewCtxClient is not nil")
	}
	if cli.GetLogger() == nil {
		t.Error("GetLogger() = nil")
	}
	if err := cli.Close(); err != context.Canceled {
		t.Errorf("Close() = %v, want context.Canceled as the official returns", err)
	}
	if cli.Ctx().Err() == nil {
		t.Error("Ctx() not canceled by Close")
	}
}

func TestZeroishClientWithOnlyKVWorks(t *testing.T) {
	real := newClient(t)
	cli := &clientv3.Client{KV: real.KV}
	k := key(t, "k")
	if _, err := cli.Put(ctxT(t), k, "v"); err != nil {
		t.Fatal(err)
	}
	if cli.Ctx() == nil || cli.GetLogger() == nil || len(cli.Endpoints()) != 0 || cli.ActiveConnection() != nil {
		t.Error("zero-ish Client accessors misbehave")
	}
	if err := cli.Close(); err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
}

func TestRetryConstructorsWithoutConnectionFailCleanly(t *testing.T) {
	cli := clientv3.NewCtxClient(context.Background())
	defer cli.Close()
	_, err := clientv3.RetryKVClient(cli).Range(context.Background(), &pb.RangeRequest{Key: []byte("k")})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Range on a client without connection: err = %v, want a clear error", err)
	}
}

func TestWithLoggerReplacesTheLogger(t *testing.T) {
	cli := newClient(t)
	lg := zap.NewExample()
	if cli.WithLogger(lg) != cli || cli.GetLogger() != lg {
		t.Fatal("WithLogger did not set the logger")
	}
}

// The official client's watches and keep-alives do not follow
// Config.Context; a program that gave New a context it cancels once the
// client is up (a timeout for the dial, say) keeps them.
func TestACanceledConfigContextEndsNeitherWatchesNorKeepAlives(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newClient(t, func(cfg *clientv3.Config) { cfg.Context = base })
	ctx := ctxT(t)
	k := keyPrefix(t)
	wch := c.Watch(ctx, k)
	lease, err := c.Grant(ctx, 2)
	if err != nil {
		t.Fatalf("Grant: %v", err)
	}
	ka, err := c.KeepAlive(ctx, lease.ID)
	if err != nil {
		t.Fatalf("KeepAlive: %v", err)
	}
	cancel()
	rev := put(t, c, k, "v")
	checkRevisions(t, "the watch after Config.Context was canceled", nextEvents(t, wch, 1), []int64{rev})
	// Two renewals after the cancel (TTL 2 s: one about every 0.7 s).
	for i := range 2 {
		select {
		case _, ok := <-ka:
			if !ok {
				t.Fatalf("the keep-alive channel closed after %d responses once Config.Context was canceled; want it kept", i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no keep-alive response %d within 5 s after Config.Context was canceled", i+1)
		}
	}
}

// Raw stubs over ActiveConnection carry none of the client's call options,
// as with the official client: with no member reachable they fail at once
// instead of waiting for their deadline.
func TestARawStubFailsFastWhenNoMemberIsReachable(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) { cfg.Endpoints = []string{"127.0.0.1:1"} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := pb.NewKVClient(cli.ActiveConnection()).Range(ctx, &pb.RangeRequest{Key: []byte("k")})
	if status.Code(err) != codes.Unavailable || time.Since(start) > 2*time.Second {
		t.Errorf("raw Range with no member reachable: %v after %v; want codes.Unavailable at once, as the official client's", err, time.Since(start).Round(time.Millisecond))
	}
}

// Every API type built on the client's connection carries its call
// options, as the official ones do: a receive limit too small for the
// answer fails Cluster, Maintenance and Auth calls as it fails a Get.
func TestEveryAPICarriesTheClientsCallOptions(t *testing.T) {
	cli := newClient(t, func(cfg *clientv3.Config) { cfg.MaxCallRecvMsgSize = 16 })
	ctx := ctxT(t)
	for name, call := range map[string]func() error{
		"Get":        func() error { _, err := cli.Get(ctx, "k"); return err },
		"MemberList": func() error { _, err := cli.MemberList(ctx); return err },
		"Status":     func() error { _, err := cli.Status(ctx, shared.Endpoints()[0]); return err },
		"AuthStatus": func() error { _, err := cli.AuthStatus(ctx); return err },
	} {
		if err := call(); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("%s with a 16-byte receive limit: %v, want codes.ResourceExhausted", name, err)
		}
	}
}
