package clientv3

import (
	"context"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Responses of Auth calls and the auth types; they are the wire messages
// under client names.
type (
	AuthEnableResponse               pb.AuthEnableResponse
	AuthDisableResponse              pb.AuthDisableResponse
	AuthStatusResponse               pb.AuthStatusResponse
	AuthenticateResponse             pb.AuthenticateResponse
	AuthUserAddResponse              pb.AuthUserAddResponse
	AuthUserDeleteResponse           pb.AuthUserDeleteResponse
	AuthUserChangePasswordResponse   pb.AuthUserChangePasswordResponse
	AuthUserGrantRoleResponse        pb.AuthUserGrantRoleResponse
	AuthUserGetResponse              pb.AuthUserGetResponse
	AuthUserRevokeRoleResponse       pb.AuthUserRevokeRoleResponse
	AuthRoleAddResponse              pb.AuthRoleAddResponse
	AuthRoleGrantPermissionResponse  pb.AuthRoleGrantPermissionResponse
	AuthRoleGetResponse              pb.AuthRoleGetResponse
	AuthRoleRevokePermissionResponse pb.AuthRoleRevokePermissionResponse
	AuthRoleDeleteResponse           pb.AuthRoleDeleteResponse
	AuthUserListResponse             pb.AuthUserListResponse
	AuthRoleListResponse             pb.AuthRoleListResponse

	PermissionType authpb.Permission_Type
	Permission     authpb.Permission
	UserAddOptions authpb.UserAddOptions
)

// Permission types.
const (
	PermRead      = authpb.Permission_READ
	PermWrite     = authpb.Permission_WRITE
	PermReadWrite = authpb.Permission_READWRITE
)

// StrToPermissionType parses a permission type name ("read", "write",
// "readwrite", in any case).
func StrToPermissionType(s string) (PermissionType, error) {
	v, ok := authpb.Permission_Type_value[strings.ToUpper(s)]
	if !ok {
		return PermissionType(-1), fmt.Errorf("invalid permission type: %s", s)
	}
	return PermissionType(v), nil
}

// Auth manages authentication: users, roles and their permissions.
type Auth interface {
	// Authenticate checks name and password and returns a token for them.
	Authenticate(ctx context.Context, name string, password string) (*AuthenticateResponse, error)

	// AuthEnable turns authentication on (a root user must exist).
	AuthEnable(ctx context.Context) (*AuthEnableResponse, error)

	// AuthDisable turns authentication off.
	AuthDisable(ctx context.Context) (*AuthDisableResponse, error)

	// AuthStatus reports whether authentication is on.
	AuthStatus(ctx context.Context) (*AuthStatusResponse, error)

	// UserAdd adds a user with a password.
	UserAdd(ctx context.Context, name string, password string) (*AuthUserAddResponse, error)

	// UserAddWithOptions adds a user; opt.NoPassword adds one that cannot
	// log in with a password.
	UserAddWithOptions(ctx context.Context, name string, password string, opt *UserAddOptions) (*AuthUserAddResponse, error)

	// UserDelete deletes a user.
	UserDelete(ctx context.Context, name string) (*AuthUserDeleteResponse, error)

	// UserChangePassword sets a user's password.
	UserChangePassword(ctx context.Context, name string, password string) (*AuthUserChangePasswordResponse, error)

	// UserGrantRole grants role to user.
	UserGrantRole(ctx context.Context, user string, role string) (*AuthUserGrantRoleResponse, error)

	// UserGet returns a user's roles.
	UserGet(ctx context.Context, name string) (*AuthUserGetResponse, error)

	// UserList lists the users.
	UserList(ctx context.Context) (*AuthUserListResponse, error)

	// UserRevokeRole revokes role from user name.
	UserRevokeRole(ctx context.Context, name string, role string) (*AuthUserRevokeRoleResponse, error)

	// RoleAdd adds a role.
	RoleAdd(ctx context.Context, name string) (*AuthRoleAddResponse, error)

	// RoleGrantPermission grants role name permType access to the key
	// range [key, rangeEnd) (only key if rangeEnd is empty).
	RoleGrantPermission(ctx context.Context, name string, key, rangeEnd string, permType PermissionType) (*AuthRoleGrantPermissionResponse, error)

	// RoleGet returns a role's permissions.
	RoleGet(ctx context.Context, role string) (*AuthRoleGetResponse, error)

	// RoleList lists the roles.
	RoleList(ctx context.Context) (*AuthRoleListResponse, error)

	// RoleRevokePermission revokes role's permission on [key, rangeEnd).
	RoleRevokePermission(ctx context.Context, role string, key, rangeEnd string) (*AuthRoleRevokePermissionResponse, error)

	// RoleDelete deletes a role.
	RoleDelete(ctx context.Context, role string) (*AuthRoleDeleteResponse, error)
}

type authClient struct {
	remote pb.AuthClient
	c      *Client
}

// NewAuth returns an Auth that uses c's connection.
func NewAuth(c *Client) Auth { return &authClient{c: c} }

// NewAuthFromAuthClient returns an Auth over remote; c, which may be nil,
// supplies call options and the logger.
func NewAuthFromAuthClient(remote pb.AuthClient, c *Client) Auth {
	return &authClient{remote: remote, c: c}
}

func (a *authClient) Authenticate(ctx context.Context, name, password string) (*AuthenticateResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) AuthEnable(ctx context.Context) (*AuthEnableResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) AuthDisable(ctx context.Context) (*AuthDisableResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) AuthStatus(ctx context.Context) (*AuthStatusResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) UserAdd(ctx context.Context, name, password string) (*AuthUserAddResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) UserAddWithOptions(ctx context.Context, name, password string, opt *UserAddOptions) (*AuthUserAddResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) UserDelete(ctx context.Context, name string) (*AuthUserDeleteResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) UserChangePassword(ctx context.Context, name, password string) (*AuthUserChangePasswordResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) UserGrantRole(ctx context.Context, user, role string) (*AuthUserGrantRoleResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) UserGet(ctx context.Context, name string) (*AuthUserGetResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) UserList(ctx context.Context) (*AuthUserListResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) UserRevokeRole(ctx context.Context, name, role string) (*AuthUserRevokeRoleResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) RoleAdd(ctx context.Context, name string) (*AuthRoleAddResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) RoleGrantPermission(ctx context.Context, name, key, rangeEnd string, permType PermissionType) (*AuthRoleGrantPermissionResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) RoleGet(ctx context.Context, role string) (*AuthRoleGetResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) RoleList(ctx context.Context) (*AuthRoleListResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) RoleRevokePermission(ctx context.Context, role, key, rangeEnd string) (*AuthRoleRevokePermissionResponse, error) {
	return nil, errNotImplemented
}
func (a *authClient) RoleDelete(ctx context.Context, role string) (*AuthRoleDeleteResponse, error) {
	return nil, errNotImplemented
}
