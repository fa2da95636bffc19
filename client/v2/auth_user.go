package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// User is a user of the v2 auth API.
type User struct {
	User     string   `json:"user"`
	Password string   `json:"password,omitempty"`
	Roles    []string `json:"roles"`
	Grant    []string `json:"grant,omitempty"`
	Revoke   []string `json:"revoke,omitempty"`
}

// UserRoles is a user with its roles in full, as the server lists them.
type UserRoles struct {
	User  string `json:"user"`
	Roles []Role `json:"roles"`
}

// AuthUserAPI manages the users of the v2 auth API. When authentication is
// enabled, only root may use it.
type AuthUserAPI interface {
	// AddUser adds a user with a password. Adding "root" is what allows
	// enabling authentication.
	AddUser(ctx context.Context, username string, password string) error

	// RemoveUser removes a user.
	RemoveUser(ctx context.Context, username string) error

	// GetUser returns a user with the names of its roles.
	GetUser(ctx context.Context, username string) (*User, error)

	// GrantUser gives a user roles, and returns the user as changed.
	GrantUser(ctx context.Context, username string, roles []string) (*User, error)

	// RevokeUser takes roles from a user, and returns the user as changed.
	RevokeUser(ctx context.Context, username string, roles []string) (*User, error)

	// ChangePassword sets a user's password, and returns the user.
	ChangePassword(ctx context.Context, username string, password string) (*User, error)

	// ListUsers returns the names of all users.
	ListUsers(ctx context.Context) ([]string, error)
}

// NewAuthUserAPI returns an AuthUserAPI that uses c.
func NewAuthUserAPI(c Client) AuthUserAPI { return &httpAuthUserAPI{client: impl(c)} }

type httpAuthUserAPI struct{ client *httpClusterClient }

// userReply is a user as the server returns it: its roles are names in some
// replies and full roles in others.
type userReply struct {
	User  string            `json:"user"`
	Roles []json.RawMessage `json:"roles"`
}

func (r *userReply) user() *User {
	u := &User{User: r.User}
	for _, raw := range r.Roles {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			u.Roles = append(u.Roles, name)
			continue
		}
		var role Role
		if json.Unmarshal(raw, &role) == nil {
			u.Roles = append(u.Roles, role.Role)
		}
	}
	return u
}

// putUser sends a change of a user and returns the user as changed.
func (a *httpAuthUserAPI) putUser(ctx context.Context, change User, secret bool, ok ...int) (*User, error) {
	p, err := subPath(authUsersPrefix, change.User)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(change)
	if err != nil {
		return nil, err
	}
	req := &request{method: http.MethodPut, path: p, body: string(body), bodyType: bodyJSON, kind: kindWrite, secret: secret}
	var out userReply
	if err := call(ctx, a.client, req, &out, ok...); err != nil {
		return nil, err
	}
	return out.user(), nil
}

func (a *httpAuthUserAPI) AddUser(ctx context.Context, username, password string) error {
	// The server answers 201 for a new user and 200 when it updated an
	// existing one, which is its meaning of adding a user twice.
	_, err := a.putUser(ctx, User{User: username, Password: password}, true, http.StatusCreated, http.StatusOK)
	return err
}

func (a *httpAuthUserAPI) ChangePassword(ctx context.Context, username, password string) (*User, error) {
	return a.putUser(ctx, User{User: username, Password: password}, true, http.StatusOK)
}

func (a *httpAuthUserAPI) GrantUser(ctx context.Context, username string, roles []string) (*User, error) {
	return a.putUser(ctx, User{User: username, Grant: roles}, false, http.StatusOK)
}

func (a *httpAuthUserAPI) RevokeUser(ctx context.Context, username string, roles []string) (*User, error) {
	return a.putUser(ctx, User{User: username, Revoke: roles}, false, http.StatusOK)
}

func (a *httpAuthUserAPI) RemoveUser(ctx context.Context, username string) error {
	p, err := subPath(authUsersPrefix, username)
	if err != nil {
		return err
	}
	return call(ctx, a.client, &request{method: http.MethodDelete, path: p, kind: kindWrite}, nil, http.StatusOK)
}

func (a *httpAuthUserAPI) GetUser(ctx context.Context, username string) (*User, error) {
	p, err := subPath(authUsersPrefix, username)
	if err != nil {
		return nil, err
	}
	var out userReply
	if err := call(ctx, a.client, &request{method: http.MethodGet, path: p, kind: kindRead}, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return out.user(), nil
}

func (a *httpAuthUserAPI) ListUsers(ctx context.Context) ([]string, error) {
	var out struct {
		Users []userReply `json:"users"`
	}
	if err := call(ctx, a.client, &request{method: http.MethodGet, path: authUsersPrefix, kind: kindRead}, &out, http.StatusOK); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out.Users))
	for _, u := range out.Users {
		names = append(names, u.User)
	}
	return names, nil
}
