package credentials

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// TestCredentialsAuthenticateAgainstTLSEtcdWithAuth talks to a real etcd
// through a bare gRPC connection: the transport credential must complete
// the TLS handshake, and the bundle must carry the token that the server
// requires once auth is enabled.
func TestCredentialsAuthenticateAgainstTLSEtcdWithAuth(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithClientTLS())
	tlsCfg, err := c.TLS().ClientConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	bundle := NewPerRPCCredentialBundle()
	conn, err := grpc.NewClient(c.Endpoints()[0],
		grpc.WithTransportCredentials(NewTransportCredential(tlsCfg)),
		grpc.WithPerRPCCredentials(bundle.PerRPCCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	auth := pb.NewAuthClient(conn)
	kv := pb.NewKVClient(conn)
	if _, err := auth.UserAdd(ctx, &pb.AuthUserAddRequest{Name: "root", Password: "pw"}); err != nil {
		t.Fatalf("UserAdd over TLS: %v", err)
	}
	if _, err := auth.UserGrantRole(ctx, &pb.AuthUserGrantRoleRequest{User: "root", Role: "root"}); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.AuthEnable(ctx, &pb.AuthEnableRequest{}); err != nil {
		t.Fatal(err)
	}

	_, err = kv.Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")})
	if got := rpctypes.Error(err); !errors.Is(got, rpctypes.ErrUserEmpty) {
		t.Fatalf("Put without token: error %v (code %v), want ErrUserEmpty", err, status.Code(err))
	}

	resp, err := auth.Authenticate(ctx, &pb.AuthenticateRequest{Name: "root", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	bundle.UpdateAuthToken(resp.Token)
	if _, err := kv.Put(ctx, &pb.PutRequest{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatalf("Put with token: %v", err)
	}
}
