package clientv3

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/client/v3/internal/endpoint"
)

// Reconnection pacing. gRPC's default lets the wait between attempts grow
// to two minutes, far too long to notice a restarted member.
var connectParams = grpc.ConnectParams{
	Backoff: backoff.Config{
		BaseDelay:  100 * time.Millisecond,
		Multiplier: 1.6,
		Jitter:     0.2,
		MaxDelay:   3 * time.Second,
	},
	MinConnectTimeout: 5 * time.Second,
}

// dial creates (without connecting) a gRPC connection whose endpoints come
// from res. first names the connection's authority.
func (c *Client) dial(res *balancer.Resolver, first endpoint.Endpoint) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{
		grpc.WithResolvers(res),
		grpc.WithDefaultServiceConfig(balancer.ServiceConfig),
		grpc.WithTransportCredentials(newTransportCreds(c.cfg.TLS)),
		grpc.WithContextDialer(endpoint.Dial),
		grpc.WithPerRPCCredentials(tokenCreds{c}),
		grpc.WithConnectParams(connectParams),
		grpc.WithChainUnaryInterceptor(c.unaryInterceptor),
		grpc.WithChainStreamInterceptor(c.streamInterceptor),
		// The client's call options (wait-for-ready, size limits) go with
		// each call of its own API, not on the connection: raw stubs over
		// ActiveConnection or Dial fail fast and have gRPC's limits, as
		// with the official client.
	}
	if kp, ok := keepAliveParams(&c.cfg); ok {
		opts = append(opts, grpc.WithKeepaliveParams(kp))
	}
	opts = append(opts, c.cfg.DialOptions...)
	target := balancer.Scheme + ":///" + first.ServerName
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("etcdclient: creating connection: %w", err)
	}
	return conn, nil
}

// Dial opens a separate connection to the single endpoint ep with the
// client's settings (TLS, auth token, keep-alive, retry policy); the
// caller closes it. Connecting happens in the background.
func (c *Client) Dial(ep string) (*grpc.ClientConn, error) {
	parsed, err := endpoint.Parse(ep)
	if err != nil {
		return nil, fmt.Errorf("etcdclient: %w", err)
	}
	res := balancer.NewResolver(balancer.NewHealth())
	res.SetEndpoints([]endpoint.Endpoint{parsed})
	conn, err := c.dial(res, parsed)
	if err != nil {
		return nil, err
	}
	conn.Connect()
	return conn, nil
}

// transportCreds secures each connection as its endpoint's scheme asks:
// https and unixs always use TLS, http and unix never do, and endpoints
// without a scheme use TLS when the client has a TLS configuration.
type transportCreds struct {
	user *tls.Config // Config.TLS, possibly nil

	once sync.Once
	tls  credentials.TransportCredentials
}

func newTransportCreds(cfg *tls.Config) *transportCreds { return &transportCreds{user: cfg} }

func (t *transportCreds) tlsCreds() credentials.TransportCredentials {
	t.once.Do(func() {
		cfg := t.user
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		t.tls = credentials.NewTLS(cfg)
	})
	return t.tls
}

func (t *transportCreds) useTLS(ctx context.Context) bool {
	switch balancer.SecurityOf(credentials.ClientHandshakeInfoFromContext(ctx).Attributes) {
	case endpoint.Secure:
		return true
	case endpoint.Insecure:
		return false
	}
	return t.user != nil
}

func (t *transportCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if !t.useTLS(ctx) {
		return raw, plainAuthInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
	}
	return t.tlsCreds().ClientHandshake(ctx, authority, raw)
}

func (t *transportCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, fmt.Errorf("etcdclient: client credentials cannot serve")
}

func (t *transportCreds) Info() credentials.ProtocolInfo {
	if t.user != nil {
		return credentials.ProtocolInfo{SecurityProtocol: "tls"}
	}
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}

func (t *transportCreds) Clone() credentials.TransportCredentials {
	return newTransportCreds(t.user)
}

// OverrideServerName is part of the deprecated credentials API; server
// names come from the endpoints.
func (t *transportCreds) OverrideServerName(string) error { return nil }

type plainAuthInfo struct{ credentials.CommonAuthInfo }

func (plainAuthInfo) AuthType() string { return "insecure" }

// keepAliveParams returns the gRPC keep-alive of cfg: DialKeepAliveTime
// and DialKeepAliveTimeout as given (a zero timeout is gRPC's 20 s, as
// with the official client), or, when DialKeepAliveTime is zero, ours:
// 10 s, and 3 s unless a timeout is given (see defaultPingTime). A
// negative DialKeepAliveTime turns pings off.
func keepAliveParams(cfg *Config) (keepalive.ClientParameters, bool) {
	if cfg.DialKeepAliveTime < 0 {
		return keepalive.ClientParameters{}, false
	}
	kp := keepalive.ClientParameters{
		Time:                cfg.DialKeepAliveTime,
		Timeout:             max(cfg.DialKeepAliveTimeout, 0),
		PermitWithoutStream: cfg.PermitWithoutStream,
	}
	if kp.Time == 0 {
		kp.Time = defaultPingTime
		if kp.Timeout == 0 {
			kp.Timeout = defaultPingTimeout
		}
	}
	return kp, true
}
