package clientv3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// Config configures a Client created by New. The zero value of every field
// selects the default documented on it.
type Config struct {
	// Endpoints lists the members to talk to: "host:port",
	// "http(s)://host:port" or "unix(s)://path".
	Endpoints []string `json:"endpoints"`

	// AutoSyncInterval, if positive, is how often the client replaces its
	// endpoints with the client URLs of the current cluster members.
	AutoSyncInterval time.Duration `json:"auto-sync-interval"`

	// DialTimeout bounds the work New does before returning (fetching an
	// auth token, checking the cluster version when RejectOldCluster is
	// set) and sets the initial lease keep-alive timeout (DialTimeout +
	// 1s). It does not make New wait for a connection: connecting happens
	// in the background and calls wait for it. 0 means no bound.
	DialTimeout time.Duration `json:"dial-timeout"`

	// DialKeepAliveTime is how long a connection with calls in flight may
	// be silent before the client pings the server to check it is alive.
	// 0 means 10 s (the official client turns pings off); a negative value
	// turns them off. gRPC never pings more often than every 10 s, and
	// etcd closes connections that ping more often than its
	// --grpc-keepalive-min-time (5 s by default).
	DialKeepAliveTime time.Duration `json:"dial-keep-alive-time"`

	// DialKeepAliveTimeout is how long the client waits for a ping reply
	// before closing the connection, failing the calls on it. 0 means 3 s.
	DialKeepAliveTimeout time.Duration `json:"dial-keep-alive-timeout"`

	// MaxCallSendMsgSize limits the size of one request in bytes; larger
	// requests fail before they are sent. 0 means 2 MiB. Keep it below
	// the server's --max-request-bytes.
	MaxCallSendMsgSize int

	// MaxCallRecvMsgSize limits the size of one response in bytes. 0
	// means math.MaxInt32, because a range response can be large.
	MaxCallRecvMsgSize int

	// TLS, if set, secures the connections with these settings.
	TLS *tls.Config

	// Username is the user to authenticate as.
	Username string `json:"username"`

	// Password is Username's password.
	Password string `json:"password"`

	// Token is an auth token (for example a JWT) to use instead of
	// Username and Password. The client never refreshes it.
	Token string `json:"token"`

	// RejectOldCluster makes New fail with ErrOldCluster when a member
	// runs an etcd older than 3.2.
	RejectOldCluster bool `json:"reject-old-cluster"`

	// DialOptions are extra gRPC dial options (interceptors, ...).
	// Options that only grpc.Dial understands, such as grpc.WithBlock,
	// have no effect.
	DialOptions []grpc.DialOption

	// Context is the client's base context, which Ctx returns: canceling
	// it stops the start-up and the endpoint auto-sync. As with the
	// official client, watches, keep-alives and calls go on; they end with
	// their own contexts or with Close.
	Context context.Context

	// Logger is the client's logger. If nil, one is built from LogConfig.
	Logger *zap.Logger

	// LogConfig configures the logger built when Logger is nil. If nil, a
	// production logger at ClientLogLevel is used.
	LogConfig *zap.Config

	// PermitWithoutStream lets keep-alive pings be sent while no RPC is
	// in flight.
	PermitWithoutStream bool `json:"permit-without-stream"`

	// MaxUnaryRetries bounds the attempts of a unary RPC, the first
	// included (so 1 means no retry), as the official client counts it.
	// 0 means the default, 100.
	MaxUnaryRetries uint `json:"max-unary-retries"`

	// BackoffWaitBetween is the base wait between two attempts of an RPC.
	// 0 means the default.
	BackoffWaitBetween time.Duration `json:"backoff-wait-between"`

	// BackoffJitterFraction randomizes the wait between attempts by up to
	// this fraction of it. 0 means the default.
	BackoffJitterFraction float64 `json:"backoff-jitter-fraction"`
}

// ConfigSpec is a declarative client configuration, as read from flags,
// environment or a JSON file. NewClientConfig turns it into a Config.
type ConfigSpec struct {
	Endpoints          []string      `json:"endpoints"`
	RequestTimeout     time.Duration `json:"request-timeout"`
	DialTimeout        time.Duration `json:"dial-timeout"`
	KeepAliveTime      time.Duration `json:"keepalive-time"`
	KeepAliveTimeout   time.Duration `json:"keepalive-timeout"`
	MaxCallSendMsgSize int           `json:"max-request-bytes"`
	MaxCallRecvMsgSize int           `json:"max-recv-bytes"`
	Secure             *SecureConfig `json:"secure"`
	Auth               *AuthConfig   `json:"auth"`
}

// SecureConfig names the TLS material of a ConfigSpec.
type SecureConfig struct {
	Cert       string `json:"cert"`
	Key        string `json:"key"`
	Cacert     string `json:"cacert"`
	ServerName string `json:"server-name"`

	InsecureTransport  bool `json:"insecure-transport"`
	InsecureSkipVerify bool `json:"insecure-skip-tls-verify"`
}

// AuthConfig holds the credentials of a ConfigSpec.
type AuthConfig struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Token    string `json:"token"`
}

// Empty reports whether cfg holds no credentials.
func (cfg AuthConfig) Empty() bool {
	return cfg.Username == "" && cfg.Password == "" && cfg.Token == ""
}

// Clone returns a deep copy of cs.
func (cs *ConfigSpec) Clone() *ConfigSpec {
	if cs == nil {
		return nil
	}
	c := *cs
	if cs.Endpoints != nil {
		c.Endpoints = append([]string(nil), cs.Endpoints...)
	}
	if cs.Secure != nil {
		s := *cs.Secure
		c.Secure = &s
	}
	if cs.Auth != nil {
		a := *cs.Auth
		c.Auth = &a
	}
	return &c
}

// NewClientConfig builds the Config described by confSpec, loading its TLS
// files. lg is not made the Config's logger, as with the official
// function.
func NewClientConfig(confSpec *ConfigSpec, lg *zap.Logger) (*Config, error) {
	if confSpec == nil {
		return nil, errors.New("etcdclient: nil ConfigSpec")
	}
	tlsCfg, err := newTLSConfig(confSpec.Secure)
	if err != nil {
		return nil, err
	}
	cfg := &Config{
		Endpoints:            confSpec.Endpoints,
		DialTimeout:          confSpec.DialTimeout,
		DialKeepAliveTime:    confSpec.KeepAliveTime,
		DialKeepAliveTimeout: confSpec.KeepAliveTimeout,
		MaxCallSendMsgSize:   confSpec.MaxCallSendMsgSize,
		MaxCallRecvMsgSize:   confSpec.MaxCallRecvMsgSize,
		TLS:                  tlsCfg,
	}
	// As the official function does, lg only reports on the TLS files,
	// and conflicting credentials are left for New to refuse.
	if a := confSpec.Auth; a != nil {
		cfg.Username, cfg.Password, cfg.Token = a.Username, a.Password, a.Token
	}
	return cfg, nil
}

// newTLSConfig turns a SecureConfig into a TLS configuration: nil for a
// nil spec or an insecure transport without TLS files; otherwise one that
// trusts Cacert (or the system roots), presents Cert/Key if given, checks
// ServerName if given and skips verification if asked to.
func newTLSConfig(sc *SecureConfig) (*tls.Config, error) {
	if sc == nil {
		return nil, nil
	}
	var cfg *tls.Config
	if sc.Cert != "" || sc.Key != "" || sc.Cacert != "" || sc.ServerName != "" {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: sc.ServerName}
		if sc.Cert != "" || sc.Key != "" {
			if sc.Cert == "" || sc.Key == "" {
				return nil, errors.New("etcdclient: TLS needs both a certificate and a key file")
			}
			if _, err := tls.LoadX509KeyPair(sc.Cert, sc.Key); err != nil {
				return nil, fmt.Errorf("etcdclient: loading TLS key pair: %w", err)
			}
			// Read at every handshake, as the official client does, so
			// that a certificate rotated on disk is used on reconnect.
			certFile, keyFile := sc.Cert, sc.Key
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				cert, err := tls.LoadX509KeyPair(certFile, keyFile)
				if err != nil {
					return nil, err
				}
				return &cert, nil
			}
		}
		if sc.Cacert != "" {
			pem, err := os.ReadFile(sc.Cacert)
			if err != nil {
				return nil, fmt.Errorf("etcdclient: reading CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("etcdclient: no certificate in CA file %s", sc.Cacert)
			}
			cfg.RootCAs = pool
		}
	}
	if cfg == nil && !sc.InsecureTransport {
		// Secure transport asked for without files: system roots.
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if sc.InsecureSkipVerify {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}
