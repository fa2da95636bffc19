// Package credentials provides the gRPC credentials an etcd client uses:
// TLS transport credentials, and per-RPC credentials that attach the auth
// token the client obtained from the server.
package credentials

import (
	"context"
	"crypto/tls"
	"sync"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	grpccredentials "google.golang.org/grpc/credentials"
)

// NewTransportCredential returns gRPC transport credentials that secure
// connections with cfg. A nil cfg means TLS with default settings.
func NewTransportCredential(cfg *tls.Config) grpccredentials.TransportCredentials {
	return grpccredentials.NewTLS(cfg)
}

// PerRPCCredentialsBundle holds an auth token and attaches it to every RPC
// of the connection it is installed on. UpdateAuthToken may be called at
// any time, concurrently with RPCs.
type PerRPCCredentialsBundle interface {
	UpdateAuthToken(token string)
	PerRPCCredentials() grpccredentials.PerRPCCredentials
}

// NewPerRPCCredentialBundle returns a bundle without a token; until one is
// set, RPCs carry no token.
func NewPerRPCCredentialBundle() PerRPCCredentialsBundle {
	return &bundle{rc: &tokenCredential{}}
}

type bundle struct{ rc *tokenCredential }

func (b *bundle) UpdateAuthToken(token string) { b.rc.UpdateAuthToken(token) }

func (b *bundle) PerRPCCredentials() grpccredentials.PerRPCCredentials { return b.rc }

// tokenCredential sends the current token in the metadata field the etcd
// server reads it from.
type tokenCredential struct {
	mu    sync.RWMutex
	token string
}

// RequireTransportSecurity is false: etcd accepts tokens over plaintext
// connections, and the client decides whether to use TLS.
func (rc *tokenCredential) RequireTransportSecurity() bool { return false }

func (rc *tokenCredential) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	rc.mu.RLock()
	token := rc.token
	rc.mu.RUnlock()
	if token == "" {
		return nil, nil
	}
	return map[string]string{rpctypes.TokenFieldNameGRPC: token}, nil
}

func (rc *tokenCredential) UpdateAuthToken(token string) {
	rc.mu.Lock()
	rc.token = token
	rc.mu.Unlock()
}
