package clientv3_test

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

// authTokenTTL is the simple-token TTL (seconds) of the clusters that test
// token expiry; a token unused for longer is forgotten by the server.
const authTokenTTL = "--auth-token-ttl=1"

func TestAuthUsersRolesAndPermissions(t *testing.T) {
	c := startCluster(t, 1, etcdtest.WithFlags(authTokenTTL))
	exerciseAuth(t, c)
}

func TestExpiredAuthTokenIsRefreshedAndTheCallSucceeds(t *testing.T) {
	c := startCluster(t, 1, etcdtest.WithFlags(authTokenTTL))
	exerciseTokenExpiry(t, c)
}

// enableAuth creates root with password "rootpw" (unless it exists) and
// turns auth on.
func enableAuth(t *testing.T, admin *clientv3.Client) {
	t.Helper()
	ctx := ctxT(t)
	if _, err := admin.UserAdd(ctx, "root", "rootpw"); err != nil && err != rpctypes.ErrUserAlreadyExist {
		t.Fatalf("UserAdd root: %v", err)
	}
	if _, err := admin.UserGrantRole(ctx, "root", "root"); err != nil {
		t.Fatalf("UserGrantRole root: %v", err)
	}
	if _, err := admin.AuthEnable(ctx); err != nil {
		t.Fatalf("AuthEnable: %v", err)
	}
}

func exerciseAuth(t *testing.T, c *etcdtest.Cluster) {
	admin := newClientOf(t, c)
	enableAuth(t, admin)
	ctx := ctxT(t)

	// The unauthenticated client is now refused.
	if _, err := admin.Put(ctx, "/x", "v"); err != rpctypes.ErrUserEmpty && err != rpctypes.ErrPermissionDenied {
		t.Fatalf("Put without credentials: err = %v, want ErrUserEmpty or ErrPermissionDenied", err)
	}
	if _, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), Username: "root", Password: "wrong", DialTimeout: 5 * time.Second, Logger: zap.NewNop()}); err != rpctypes.ErrAuthFailed {
		t.Fatalf("New with a wrong password: err = %v, want ErrAuthFailed", err)
	}

	root := newClientOf(t, c, withUser("root", "rootpw"))
	st, err := root.AuthStatus(ctx)
	if err != nil || !st.Enabled {
		t.Fatalf("AuthStatus = %v, %v; want enabled", st, err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"RoleAdd", func() error { _, err := root.RoleAdd(ctx, "r"); return err }},
		{"RoleGrantPermission", func() error {
			_, err := root.RoleGrantPermission(ctx, "r", "/alice/", clientv3.GetPrefixRangeEnd("/alice/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		}},
		{"UserAdd", func() error { _, err := root.UserAdd(ctx, "alice", "pw1"); return err }},
		{"UserAddWithOptions", func() error {
			_, err := root.UserAddWithOptions(ctx, "svc", "", &clientv3.UserAddOptions{NoPassword: true})
			return err
		}},
		{"UserGrantRole", func() error { _, err := root.UserGrantRole(ctx, "alice", "r"); return err }},
		{"UserChangePassword", func() error { _, err := root.UserChangePassword(ctx, "alice", "pw2"); return err }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	if _, err := root.RoleAdd(ctx, "r"); err != rpctypes.ErrRoleAlreadyExist {
		t.Errorf("RoleAdd twice: err = %v, want ErrRoleAlreadyExist", err)
	}
	role, err := root.RoleGet(ctx, "r")
	if err != nil || len(role.Perm) != 1 || string(role.Perm[0].Key) != "/alice/" {
		t.Fatalf("RoleGet = %v, %v; want one permission on /alice/", role, err)
	}
	user, err := root.UserGet(ctx, "alice")
	if err != nil || !slices.Equal(user.Roles, []string{"r"}) {
		t.Fatalf("UserGet = %v, %v; want roles [r]", user, err)
	}
	users, err := root.UserList(ctx)
	if err != nil || !slices.Contains(users.Users, "alice") || !slices.Contains(users.Users, "svc") {
		t.Fatalf("UserList = %v, %v; want alice and svc", users, err)
	}
	roles, err := root.RoleList(ctx)
	if err != nil || !slices.Contains(roles.Roles, "r") {
		t.Fatalf("RoleList = %v, %v; want r", roles, err)
	}

	alice := newClientOf(t, c, withUser("alice", "pw2"))
	if _, err := alice.Put(ctx, "/alice/k", "v"); err != nil {
		t.Fatalf("alice Put in her prefix: %v", err)
	}
	if _, err := alice.Put(ctx, "/bob/k", "v"); err != rpctypes.ErrPermissionDenied {
		t.Fatalf("alice Put outside her prefix: err = %v, want ErrPermissionDenied", err)
	}
	// Snapshot needs root. As the official client does, the deprecated
	// Snapshot opens the stream and reports the refusal on Read, and
	// SnapshotWithVersion returns the refusal as gRPC gave it. (etcd 3.5
	// sends this refusal with code Unknown.)
	refused := func(err error) bool { return rpctypes.Error(err) == rpctypes.ErrPermissionDenied }
	if c.Version() == etcdtest.V3_5 {
		refused = func(err error) bool { return err != nil && strings.Contains(err.Error(), "permission denied") }
	}
	rc, err := alice.Snapshot(ctx)
	if err != nil {
		t.Fatalf("alice Snapshot: err = %v, want nil (the refusal comes from Read)", err)
	}
	if _, err := io.ReadAll(rc); !refused(err) {
		t.Errorf("reading alice's Snapshot: err = %v, want ErrPermissionDenied", err)
	}
	rc.Close()
	if _, err := alice.SnapshotWithVersion(ctx); !refused(err) || (c.Version() != etcdtest.V3_5 && status.Code(err) != codes.PermissionDenied) {
		t.Errorf("alice SnapshotWithVersion: err = %v (code %v), want the PermissionDenied status", err, status.Code(err))
	}
	if resp, err := root.Authenticate(ctx, "alice", "pw2"); err != nil || resp.Token == "" {
		t.Fatalf("Authenticate = %v, %v; want a token", resp, err)
	}

	if _, err := root.RoleRevokePermission(ctx, "r", "/alice/", clientv3.GetPrefixRangeEnd("/alice/")); err != nil {
		t.Fatalf("RoleRevokePermission: %v", err)
	}
	if _, err := alice.Put(ctx, "/alice/k", "v2"); err != rpctypes.ErrPermissionDenied {
		t.Fatalf("alice Put after revoke: err = %v, want ErrPermissionDenied", err)
	}
	for name, do := range map[string]func() error{
		"UserRevokeRole": func() error { _, err := root.UserRevokeRole(ctx, "alice", "r"); return err },
	} {
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// alice's token is from before the change: renewing it with her old
	// password fails, and that failure is what the call returns, as with
	// the official client.
	if _, err := root.UserChangePassword(ctx, "alice", "pw3"); err != nil {
		t.Fatalf("UserChangePassword: %v", err)
	}
	if _, err := alice.Get(ctx, "/alice/k"); err != rpctypes.ErrAuthFailed {
		t.Errorf("alice Get after her password changed: err = %v, want ErrAuthFailed (the token renewal's answer)", err)
	}
	if _, err := root.RoleDelete(ctx, "r"); err != nil {
		t.Fatalf("RoleDelete: %v", err)
	}
	if _, err := root.UserDelete(ctx, "alice"); err != nil {
		t.Fatalf("UserDelete: %v", err)
	}
	if _, err := root.UserGet(ctx, "alice"); err != rpctypes.ErrUserNotFound {
		t.Fatalf("UserGet after delete: err = %v, want ErrUserNotFound", err)
	}
	if _, err := root.AuthDisable(ctx); err != nil {
		t.Fatalf("AuthDisable: %v", err)
	}
}

func exerciseTokenExpiry(t *testing.T, c *etcdtest.Cluster) {
	admin := newClientOf(t, c)
	enableAuth(t, admin)
	root := newClientOf(t, c, withUser("root", "rootpw"))
	ctx := ctxT(t)
	k := "/" + t.Name()
	if _, err := root.Put(ctx, k, "v1"); err != nil {
		t.Fatalf("Put with a fresh token: %v", err)
	}
	tok, err := root.Authenticate(ctx, "root", "rootpw")
	if err != nil {
		t.Fatal(err)
	}
	withToken := newClientOf(t, c, func(cfg *clientv3.Config) { cfg.Token = tok.Token })
	if _, err := withToken.Get(ctx, k); err != nil {
		t.Fatalf("Get with a user-supplied token: %v", err)
	}

	// Idle past the TTL: the server forgets both tokens.
	time.Sleep(3 * time.Second)

	if _, err := root.Put(ctx, k, "v2"); err != nil {
		t.Fatalf("Put after the token expired: %v, want success through a refreshed token", err)
	}
	get, err := root.Get(ctx, k)
	if err != nil || len(get.Kvs) != 1 || string(get.Kvs[0].Value) != "v2" || get.Kvs[0].Version != 2 {
		t.Fatalf("Get = %v, %v; want v2 at version 2 (applied once)", get, err)
	}
	if _, err := withToken.Get(ctx, k); err != rpctypes.ErrInvalidAuthToken {
		t.Fatalf("Get with an expired user-supplied token: err = %v, want ErrInvalidAuthToken (never refreshed)", err)
	}
}

func withUser(name, password string) func(*clientv3.Config) {
	return func(cfg *clientv3.Config) { cfg.Username, cfg.Password = name, password }
}
