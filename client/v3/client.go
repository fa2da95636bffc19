package clientv3

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/client/v3/internal/codec"
	"github.com/a74b11dd/etcdkit/client/v3/internal/endpoint"
	"github.com/a74b11dd/etcdkit/client/v3/internal/retry"
	"github.com/a74b11dd/etcdkit/internal/attemptclock"
)

// Defaults for zero Config fields.
const (
	defaultMaxCallSendMsgSize = 2 * 1024 * 1024
	defaultMaxCallRecvMsgSize = math.MaxInt32
)

// Client is a connection to an etcd cluster. Its embedded interfaces give
// the calls; each may be replaced (for example by a namespace wrapper)
// before the Client is shared.
type Client struct {
	Cluster
	KV
	Lease
	Watcher
	Auth
	Maintenance

	// Username is the user the client authenticates as.
	Username string
	// Password is Username's password.
	Password string
	// Token is an auth token used instead of Username and Password.
	Token string

	cfg    Config
	conn   *grpc.ClientConn
	ctx    context.Context
	cancel context.CancelFunc
	// life ends with Close only. Watchers and lessors run under it, not
	// under ctx: as with the official client, a canceled Config.Context
	// ends neither watches nor keep-alives.
	life    context.Context
	endLife context.CancelFunc

	callOpts []grpc.CallOption
	// apiCallOpts is callOpts marked as calls of the client's own API
	// (apiCall), for the types built on its connection: the mark travels
	// in the slice, so apiConn need not copy the options of each call.
	apiCallOpts []grpc.CallOption
	policy      retry.Policy
	resolver    *balancer.Resolver

	// token is the auth token attached to every RPC; tokenMu serializes
	// refreshes. userToken is set when the token came from Config.Token
	// and must never be replaced.
	token     atomic.Pointer[string]
	tokenMu   sync.Mutex
	userToken bool

	// seenRev is the highest revision an answer has shown the client
	// (monotonic.go).
	seenRev atomic.Int64

	closeOnce sync.Once
	closeErr  error
	bg        sync.WaitGroup

	guards attemptclock.Clock // the guards of slow attempts (guard.go)
	tasks  tasks

	mu  sync.RWMutex
	lg  *zap.Logger
	eps []string
}

// Option configures a Client made by NewCtxClient.
type Option func(*Client)

// WithZapLogger makes a NewCtxClient client log to lg.
func WithZapLogger(lg *zap.Logger) Option {
	return func(c *Client) { c.lg = lg }
}

// New creates a client for the cluster cfg describes. Connecting happens
// in the background: New returns once the configuration is valid and,
// when Username and Password are set, an auth token has been fetched
// (bounded by DialTimeout).
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, ErrNoAvailableEndpoints
	}
	return newClient(&cfg)
}

// NewCtxClient creates a client with a context and no connection, for
// programs that supply their own implementations of the service
// interfaces. Calls on interfaces left unset fail with an error.
func NewCtxClient(ctx context.Context, opts ...Option) *Client {
	if ctx == nil {
		ctx = context.Background()
	}
	cctx, cancel := context.WithCancel(ctx)
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	c := &Client{ctx: cctx, cancel: cancel, life: life, endLife: endLife, lg: zap.NewNop()}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// NewFromURL creates a client for the cluster at url.
func NewFromURL(url string) (*Client, error) { return NewFromURLs([]string{url}) }

// NewFromURLs creates a client for the cluster at urls.
func NewFromURLs(urls []string) (*Client, error) { return New(Config{Endpoints: urls}) }

func newClient(cfg *Config) (*Client, error) {
	if (cfg.Username != "" || cfg.Password != "") && cfg.Token != "" {
		return nil, ErrMutuallyExclusiveCfg
	}
	if cfg.MaxCallSendMsgSize > 0 && cfg.MaxCallRecvMsgSize > 0 && cfg.MaxCallSendMsgSize > cfg.MaxCallRecvMsgSize {
		return nil, fmt.Errorf("etcdclient: MaxCallRecvMsgSize (%d bytes) must be at least MaxCallSendMsgSize (%d bytes)",
			cfg.MaxCallRecvMsgSize, cfg.MaxCallSendMsgSize)
	}
	eps, err := parseEndpoints(cfg.Endpoints)
	if err != nil {
		return nil, err
	}
	lg, err := newLogger(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcdclient: building logger: %w", err)
	}

	base := cfg.Context
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(base)
	life, endLife := context.WithCancel(context.WithoutCancel(base))
	c := &Client{
		Token:   cfg.Token,
		cfg:     *cfg,
		ctx:     ctx,
		cancel:  cancel,
		life:    life,
		endLife: endLife,
		lg:      lg,
		eps:     append([]string(nil), cfg.Endpoints...),
		policy: retry.Policy{
			MaxRetries:     cfg.MaxUnaryRetries,
			WaitBetween:    cfg.BackoffWaitBetween,
			JitterFraction: cfg.BackoffJitterFraction,
		}.WithDefaults(),
	}
	c.callOpts = []grpc.CallOption{
		grpc.WaitForReady(true),
		grpc.MaxCallSendMsgSize(orDefault(cfg.MaxCallSendMsgSize, defaultMaxCallSendMsgSize)),
		grpc.MaxCallRecvMsgSize(orDefault(cfg.MaxCallRecvMsgSize, defaultMaxCallRecvMsgSize)),
		// Our codec, per call rather than on the connection: other gRPC
		// clients in the process keep grpc-go's, and so do raw stubs.
		grpc.ForceCodecV2(codec.Codec{}),
	}
	c.apiCallOpts = append(slices.Clip(c.callOpts), apiCall{})
	// As the official client does, credentials count only as a pair.
	if cfg.Username != "" && cfg.Password != "" {
		c.Username, c.Password = cfg.Username, cfg.Password
	}
	if cfg.Token != "" {
		tok := cfg.Token
		c.token.Store(&tok)
		c.userToken = true
	}

	c.guards.Slack = guardTick
	c.resolver = balancer.NewResolver(balancer.NewHealth())
	c.resolver.SetEndpoints(eps)
	conn, err := c.dial(c.resolver, eps[0])
	if err != nil {
		cancel()
		return nil, err
	}
	c.conn = conn
	conn.Connect()

	c.Cluster = NewCluster(c)
	c.KV = NewKV(c)
	c.Maintenance = NewMaintenance(c)
	c.Auth = NewAuth(c)

	if err := c.start(); err != nil {
		c.Close()
		return nil, err
	}
	c.Lease = NewLease(c)
	c.Watcher = NewWatcher(c)
	c.startProber()

	if cfg.AutoSyncInterval > 0 {
		c.bg.Add(1)
		go c.autoSync(cfg.AutoSyncInterval)
	}
	return c, nil
}

// start does the work New must finish before returning: fetching the auth
// token and checking the cluster version, both bounded by DialTimeout.
func (c *Client) start() error {
	if c.Username == "" || c.Password == "" {
		if !c.cfg.RejectOldCluster {
			return nil
		}
	}
	ctx, cancel := c.startCtx()
	defer cancel()
	if c.Username != "" && c.Password != "" {
		if err := c.fetchToken(ctx); err != nil && !errors.Is(err, errAuthNotEnabled) {
			return c.startErr(ctx, err)
		}
	}
	if c.cfg.RejectOldCluster {
		if err := c.checkVersion(ctx); err != nil {
			return c.startErr(ctx, err)
		}
	}
	return nil
}

func (c *Client) startCtx() (context.Context, context.CancelFunc) {
	if c.cfg.DialTimeout > 0 {
		return context.WithTimeout(c.ctx, c.cfg.DialTimeout)
	}
	return context.WithCancel(c.ctx)
}

// startErr reports a DialTimeout expiry as context.DeadlineExceeded, the
// error the official client gives for it.
func (c *Client) startErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && c.ctx.Err() == nil {
		return context.DeadlineExceeded
	}
	return err
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func parseEndpoints(raw []string) ([]endpoint.Endpoint, error) {
	if len(raw) == 0 {
		return nil, ErrNoAvailableEndpoints
	}
	eps := make([]endpoint.Endpoint, 0, len(raw))
	for _, s := range raw {
		ep, err := endpoint.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("etcdclient: %w", err)
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

// Close stops the client's background work, its watches and keep-alives,
// and closes its connection; calls in flight fail. Closing again does
// nothing and returns the client context's error (context.Canceled), as
// the official client's second Close does.
func (c *Client) Close() error {
	if c == nil {
		return nil
	}
	again := true
	c.closeOnce.Do(func() {
		again = false
		// Watches and leases close first, while the context and the
		// connection still work for their clean-up.
		if c.Watcher != nil {
			c.Watcher.Close()
		}
		if c.Lease != nil {
			c.Lease.Close()
		}
		if c.cancel != nil {
			c.cancel()
		}
		if c.endLife != nil {
			c.endLife()
		}
		c.stopProber()
		c.bg.Wait()
		if c.conn != nil {
			c.closeErr = ContextError(c.ctx, c.conn.Close())
		} else if c.ctx != nil {
			c.closeErr = c.ctx.Err()
		}
		// The calls in flight have failed with the connection; wait for
		// the goroutines that served them.
		c.tasks.closeAndWait()
	})
	if again && c.conn != nil {
		return c.ctx.Err()
	}
	return c.closeErr
}

// closed returns a channel closed by Close; nil (never ready) for a nil
// client or one without a context.
func (c *Client) closed() <-chan struct{} {
	if c == nil || c.life == nil {
		return nil
	}
	return c.life.Done()
}

// lifeCtx is the context of work that lasts until Close, whatever becomes
// of Config.Context: watch streams and keep-alives.
func (c *Client) lifeCtx() context.Context {
	if c == nil || c.life == nil {
		return context.Background()
	}
	return c.life
}

// connShutdown reports whether c's connection has been closed, by Close or
// by a program that closed ActiveConnection() itself. Streams then end
// for good instead of reopening, as the official client's do.
func (c *Client) connShutdown() bool {
	return c != nil && c.conn != nil && c.conn.GetState() == connectivity.Shutdown
}

// errClientClosing is what a call started after Close fails with, the
// error gRPC gives a call on a closed connection.
var errClientClosing = status.Error(codes.Canceled, "grpc: the client connection is closing")

// Ctx returns the client's context; it is canceled by Close. Use it for
// work that must outlive a caller's context, such as clean-up requests.
func (c *Client) Ctx() context.Context {
	if c == nil || c.ctx == nil {
		return context.Background()
	}
	return c.ctx
}

// Endpoints returns the client's current endpoints.
func (c *Client) Endpoints() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	// Never nil, as the official client's: a caller may marshal it.
	eps := make([]string, len(c.eps))
	copy(eps, c.eps)
	return eps
}

// SetEndpoints replaces the client's endpoints. Calls in flight finish on
// their current member. Endpoints that do not parse are logged and left
// out; if none parses, the endpoints are left unchanged.
func (c *Client) SetEndpoints(eps ...string) {
	var parsed []endpoint.Endpoint
	var good []string
	for _, s := range eps {
		ep, err := endpoint.Parse(s)
		if err != nil {
			c.GetLogger().Warn("ignoring bad endpoint", zap.String("endpoint", s), zap.Error(err))
			continue
		}
		parsed = append(parsed, ep)
		good = append(good, s)
	}
	if len(parsed) == 0 {
		c.GetLogger().Warn("SetEndpoints: no usable endpoint, keeping the current ones", zap.Strings("endpoints", eps))
		return
	}
	c.mu.Lock()
	// c.cfg stays as configured: it is read without locks elsewhere.
	c.eps = good
	c.mu.Unlock()
	if c.resolver != nil {
		c.resolver.SetEndpoints(parsed)
	}
}

// Sync replaces the client's endpoints with the client URLs of the
// cluster's started voting members.
func (c *Client) Sync(ctx context.Context) error {
	if c.Cluster == nil {
		return errNoConnection
	}
	resp, err := c.MemberList(ctx)
	if err != nil {
		return err
	}
	var eps []string
	for _, m := range resp.Members {
		if m.Name != "" && !m.IsLearner {
			eps = append(eps, m.ClientURLs...)
		}
	}
	if len(eps) == 0 {
		return ErrNoAvailableEndpoints
	}
	c.SetEndpoints(eps...)
	return nil
}

func (c *Client) autoSync(interval time.Duration) {
	defer c.bg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		err := c.Sync(ctx)
		cancel()
		if err != nil && c.ctx.Err() == nil {
			c.GetLogger().Info("auto sync endpoints failed", zap.Error(err))
		}
	}
}

// ActiveConnection returns the client's gRPC connection, nil if it has
// none (NewCtxClient).
func (c *Client) ActiveConnection() *grpc.ClientConn {
	if c == nil {
		return nil
	}
	return c.conn
}

// GetLogger returns the client's logger. It is meant for this library's
// own packages.
func (c *Client) GetLogger() *zap.Logger {
	if c == nil {
		return zap.NewNop()
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.lg == nil {
		return zap.NewNop()
	}
	return c.lg
}

// WithLogger sets the client's logger and returns c.
//
// Deprecated: set Config.Logger, or use WithZapLogger with NewCtxClient.
func (c *Client) WithLogger(lg *zap.Logger) *Client {
	c.mu.Lock()
	c.lg = lg
	c.mu.Unlock()
	return c
}

// callOptions returns the per-call gRPC options every RPC of c's API
// carries (message size limits, wait-for-ready). The slice is shared:
// append to a copy.
func (c *Client) callOptions() []grpc.CallOption {
	if c == nil {
		return nil
	}
	return c.callOpts
}

// apiCallOptions returns callOptions marked as calls of the client's own
// API, for its types built on its connection (NewKV, NewLease, ...).
func (c *Client) apiCallOptions() []grpc.CallOption {
	if c == nil {
		return nil
	}
	return c.apiCallOpts
}
