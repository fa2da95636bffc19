package clientv3

import (
	"context"
	"sync"

	"go.uber.org/zap"
	"google.golang.org/grpc"
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

	callOpts []grpc.CallOption

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

// New creates a client for the cluster cfg describes.
func New(cfg Config) (*Client, error) { return nil, errNotImplemented }

// NewCtxClient creates a client with a context and no connection, for
// programs that supply their own implementations of the service
// interfaces.
func NewCtxClient(ctx context.Context, opts ...Option) *Client {
	cctx, cancel := context.WithCancel(ctx)
	c := &Client{ctx: cctx, cancel: cancel, lg: zap.NewNop()}
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
func NewFromURLs(urls []string) (*Client, error) { return nil, errNotImplemented }

// Close stops the client's background work and closes its connections.
// Calls in flight fail.
func (c *Client) Close() error { return errNotImplemented }

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
	return append([]string(nil), c.eps...)
}

// SetEndpoints replaces the client's endpoints.
func (c *Client) SetEndpoints(eps ...string) {}

// Sync replaces the client's endpoints with the client URLs of the
// cluster's current members.
func (c *Client) Sync(ctx context.Context) error { return errNotImplemented }

// Dial opens a separate connection to the single endpoint ep with the
// client's settings; the caller closes it.
func (c *Client) Dial(ep string) (*grpc.ClientConn, error) { return nil, errNotImplemented }

// ActiveConnection returns the client's gRPC connection, nil if it has
// none (NewCtxClient).
func (c *Client) ActiveConnection() *grpc.ClientConn { return c.conn }

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

// callOptions returns the per-call gRPC options every RPC of c carries
// (message size limits, wait-for-ready). The slice is shared: append to a
// copy.
func (c *Client) callOptions() []grpc.CallOption {
	if c == nil {
		return nil
	}
	return c.callOpts
}
