package clientv3

import (
	"context"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
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
	remote   pb.AuthClient
	callOpts []grpc.CallOption
}

// NewAuth returns an Auth that uses c's connection.
func NewAuth(c *Client) Auth {
	return &authClient{remote: RetryAuthClient(c), callOpts: c.apiCallOptions()}
}

// NewAuthFromAuthClient returns an Auth over remote; c, which may be nil,
// supplies the call options.
func NewAuthFromAuthClient(remote pb.AuthClient, c *Client) Auth {
	return &authClient{remote: remote, callOpts: c.callOptions()}
}

func userAddOptions(opt *UserAddOptions) *authpb.UserAddOptions {
	if opt == nil {
		return &authpb.UserAddOptions{}
	}
	return &authpb.UserAddOptions{NoPassword: opt.NoPassword}
}

func (a *authClient) Authenticate(ctx context.Context, name, password string) (*AuthenticateResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.Authenticate(ctx, &pb.AuthenticateRequest{Name: name, Password: password}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthenticateResponse)(resp), nil
}

func (a *authClient) AuthEnable(ctx context.Context) (*AuthEnableResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.AuthEnable(ctx, &pb.AuthEnableRequest{}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthEnableResponse)(resp), nil
}

func (a *authClient) AuthDisable(ctx context.Context) (*AuthDisableResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.AuthDisable(ctx, &pb.AuthDisableRequest{}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthDisableResponse)(resp), nil
}

func (a *authClient) AuthStatus(ctx context.Context) (*AuthStatusResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.AuthStatus(ctx, &pb.AuthStatusRequest{}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthStatusResponse)(resp), nil
}

func (a *authClient) UserAdd(ctx context.Context, name, password string) (*AuthUserAddResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.UserAdd(ctx, &pb.AuthUserAddRequest{Name: name, Password: password, Options: &authpb.UserAddOptions{NoPassword: false}}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthUserAddResponse)(resp), nil
}

func (a *authClient) UserAddWithOptions(ctx context.Context, name, password string, opt *UserAddOptions) (*AuthUserAddResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.UserAdd(ctx, &pb.AuthUserAddRequest{Name: name, Password: password, Options: userAddOptions(opt)}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthUserAddResponse)(resp), nil
}

func (a *authClient) UserDelete(ctx context.Context, name string) (*AuthUserDeleteResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.UserDelete(ctx, &pb.AuthUserDeleteRequest{Name: name}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthUserDeleteResponse)(resp), nil
}

func (a *authClient) UserChangePassword(ctx context.Context, name, password string) (*AuthUserChangePasswordResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.UserChangePassword(ctx, &pb.AuthUserChangePasswordRequest{Name: name, Password: password}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthUserChangePasswordResponse)(resp), nil
}

func (a *authClient) UserGrantRole(ctx context.Context, user, role string) (*AuthUserGrantRoleResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.UserGrantRole(ctx, &pb.AuthUserGrantRoleRequest{User: user, Role: role}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthUserGrantRoleResponse)(resp), nil
}

func (a *authClient) UserGet(ctx context.Context, name string) (*AuthUserGetResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.UserGet(ctx, &pb.AuthUserGetRequest{Name: name}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthUserGetResponse)(resp), nil
}

func (a *authClient) UserList(ctx context.Context) (*AuthUserListResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.UserList(ctx, &pb.AuthUserListRequest{}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthUserListResponse)(resp), nil
}

func (a *authClient) UserRevokeRole(ctx context.Context, name, role string) (*AuthUserRevokeRoleResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.UserRevokeRole(ctx, &pb.AuthUserRevokeRoleRequest{Name: name, Role: role}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthUserRevokeRoleResponse)(resp), nil
}

func (a *authClient) RoleAdd(ctx context.Context, name string) (*AuthRoleAddResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.RoleAdd(ctx, &pb.AuthRoleAddRequest{Name: name}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthRoleAddResponse)(resp), nil
}

func (a *authClient) RoleGrantPermission(ctx context.Context, name, key, rangeEnd string, permType PermissionType) (*AuthRoleGrantPermissionResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.RoleGrantPermission(ctx, &pb.AuthRoleGrantPermissionRequest{Name: name, Perm: &authpb.Permission{Key: []byte(key), RangeEnd: []byte(rangeEnd), PermType: authpb.Permission_Type(permType)}}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthRoleGrantPermissionResponse)(resp), nil
}

func (a *authClient) RoleGet(ctx context.Context, role string) (*AuthRoleGetResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.RoleGet(ctx, &pb.AuthRoleGetRequest{Role: role}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthRoleGetResponse)(resp), nil
}

func (a *authClient) RoleList(ctx context.Context) (*AuthRoleListResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.RoleList(ctx, &pb.AuthRoleListRequest{}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthRoleListResponse)(resp), nil
}

func (a *authClient) RoleRevokePermission(ctx context.Context, role, key, rangeEnd string) (*AuthRoleRevokePermissionResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.RoleRevokePermission(ctx, &pb.AuthRoleRevokePermissionRequest{Role: role, Key: []byte(key), RangeEnd: []byte(rangeEnd)}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthRoleRevokePermissionResponse)(resp), nil
}

func (a *authClient) RoleDelete(ctx context.Context, role string) (*AuthRoleDeleteResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := a.remote.RoleDelete(ctx, &pb.AuthRoleDeleteRequest{Role: role}, a.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AuthRoleDeleteResponse)(resp), nil
}
