package clientv3

import (
	"context"
	"errors"
	"go.uber.org/zap"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/api/v3/version"
	"google.golang.org/grpc/credentials"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
)

const authenticateMethod = "/etcdserverpb.Auth/Authenticate"

var errAuthNotEnabled = rpctypes.ErrAuthNotEnabled

// tokenCreds attaches per-request metadata to every RPC: the client's
// current auth token (except to Authenticate, which must not carry a stale
// token), the API version, and require-leader where the interceptors
// marked the call's Attempt for it (see requiresLeader).
type tokenCreds struct{ c *Client }

// Every call carries the client's API version, as the official client's
// do: members count requests by it (etcd_server_client_requests_total).
// These maps are shared by every call that needs nothing else; gRPC only
// reads them.
var (
	versionMD       = map[string]string{rpctypes.MetadataClientAPIVersionKey: version.APIVersion}
	versionLeaderMD = map[string]string{rpctypes.MetadataClientAPIVersionKey: version.APIVersion, rpctypes.MetadataRequireLeaderKey: rpctypes.MetadataHasLeader}
	requireLeaderMD = map[string]string{rpctypes.MetadataRequireLeaderKey: rpctypes.MetadataHasLeader}
)

func (t tokenCreds) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if balancer.IsProbe(ctx) {
		// Probes carry no token: a token's use extends its life on the
		// server, and probes must not keep alive a token the client's
		// own calls would let expire. A member checks require-leader
		// before auth, so a probe still learns whether it has a leader.
		// Nor do they carry the API version: they are not the user's
		// requests, and must not inflate the members' request counts.
		return requireLeaderMD, nil
	}
	tok := t.c.currentToken()
	method := ""
	if ri, ok := credentials.RequestInfoFromContext(ctx); ok {
		method = ri.Method
	}
	if method == authenticateMethod {
		tok = ""
	}
	att := balancer.AttemptFrom(ctx)
	lead := att != nil && att.RequiresLeader()
	switch {
	case tok == "" && !lead:
		return versionMD, nil
	case tok == "":
		return versionLeaderMD, nil
	case !lead:
		return map[string]string{rpctypes.TokenFieldNameGRPC: tok, rpctypes.MetadataClientAPIVersionKey: version.APIVersion}, nil
	}
	return map[string]string{rpctypes.TokenFieldNameGRPC: tok, rpctypes.MetadataClientAPIVersionKey: version.APIVersion,
		rpctypes.MetadataRequireLeaderKey: rpctypes.MetadataHasLeader}, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return false }

func (c *Client) currentToken() string {
	if p := c.token.Load(); p != nil {
		return *p
	}
	return ""
}

// canRefreshToken reports whether the client fetches its own tokens.
func (c *Client) canRefreshToken() bool {
	return !c.userToken && c.Username != "" && c.Password != "" && c.conn != nil
}

// fetchToken authenticates with the client's credentials and installs the
// new token.
func (c *Client) fetchToken(ctx context.Context) error {
	resp, err := pb.NewAuthClient(c.conn).Authenticate(ctx,
		&pb.AuthenticateRequest{Name: c.Username, Password: c.Password}, c.callOpts...)
	if err != nil {
		return toErr(ctx, err)
	}
	tok := resp.GetToken()
	c.token.Store(&tok)
	return nil
}

// refreshToken replaces the token stale unless another call already did.
// It returns why a new token could not be had (the server's answer to the
// credentials, such as ErrAuthFailed after a password change).
func (c *Client) refreshToken(ctx context.Context, stale string) error {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.currentToken() != stale {
		return nil
	}
	err := c.fetchToken(ctx)
	if err != nil && !errors.Is(err, errAuthNotEnabled) {
		c.GetLogger().Warn("refreshing auth token failed", zap.Error(err))
		return err
	}
	return nil
}

// maybeRefreshToken reports whether err means the client's auth token was
// rejected (ErrInvalidAuthToken, ErrAuthOldRevision, ErrUserEmpty) and a
// new token has been fetched, so that retrying the failed call once may
// succeed. A user-supplied Config.Token is never refreshed.
func (c *Client) maybeRefreshToken(ctx context.Context, err error) bool {
	if c == nil || !c.canRefreshToken() || !isAuthTokenErr(err) {
		return false
	}
	return c.refreshToken(ctx, c.currentToken()) == nil
}
