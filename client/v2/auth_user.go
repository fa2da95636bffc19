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

// userReply decodes the reply of a call that returns a user (200 only)
// into out. The server sends a user's roles as names after a change, and as
// full roles from GetUser. The official client decodes the body as a User
// first, which for full roles fails with the roles' slots left empty, and
// then appends the role names from a second decoding: GetUser of a user
// with roles r1 and r2 gives Roles ["", "", "r1", "r2"]. That is what
// callers of the official client get from etcd 3.5, so this client gives
// the same.
func userReply(out *User) replyDecoder {
	return func(status int, body []byte) error {
		if status != http.StatusOK {
			return authRefusal(body)
		}
		err := json.Unmarshal(body, out)
		if err == nil {
			return nil
		}
		var full UserRoles
		if json.Unmarshal(body, &full) != nil {
			return err
		}
		out.User = full.User
		for _, r := range full.Roles {
			out.Roles = append(out.Roles, r.Role)
		}
		return nil
	}
}

// putUser sends a change of a user, decoding the reply with dec.
func (a *httpAuthUserAPI) putUser(ctx context.Context, change User, secret bool, dec replyDecoder) error {
	p, err := subPath(authUsersPrefix, change.User)
	if err != nil {
		return err
	}
	body, err := json.Marshal(change)
	if err != nil {
		return err
	}
	req := &request{method: http.MethodPut, path: p, body: string(body), bodyType: bodyJSON, kind: kindWrite, secret: secret}
	return a.client.decode(ctx, req, dec)
}

// modUser sends a change of a user and returns the user as changed.
func (a *httpAuthUserAPI) modUser(ctx context.Context, change User, secret bool) (*User, error) {
	var out User
	if err := a.putUser(ctx, change, secret, userReply(&out)); err != nil {
		return nil, err
	}
	return &out, nil
}

func (a *httpAuthUserAPI) AddUser(ctx context.Context, username, password string) error {
	// The server answers 201 for a new user and 200 when it updated an
	// existing one, which is its meaning of adding a user twice.
	return a.putUser(ctx, User{User: username, Password: password}, true, authDone)
}

func (a *httpAuthUserAPI) ChangePassword(ctx context.Context, username, password string) (*User, error) {
	return a.modUser(ctx, User{User: username, Password: password}, true)
}

func (a *httpAuthUserAPI) GrantUser(ctx context.Context, username string, roles []string) (*User, error) {
	return a.modUser(ctx, User{User: username, Grant: roles}, false)
}

func (a *httpAuthUserAPI) RevokeUser(ctx context.Context, username string, roles []string) (*User, error) {
	return a.modUser(ctx, User{User: username, Revoke: roles}, false)
}

func (a *httpAuthUserAPI) RemoveUser(ctx context.Context, username string) error {
	p, err := subPath(authUsersPrefix, username)
	if err != nil {
		return err
	}
	return a.client.decode(ctx, &request{method: http.MethodDelete, path: p, kind: kindWrite}, authDone)
}

func (a *httpAuthUserAPI) GetUser(ctx context.Context, username string) (*User, error) {
	p, err := subPath(authUsersPrefix, username)
	if err != nil {
		return nil, err
	}
	var out User
	if err := a.client.decode(ctx, &request{method: http.MethodGet, path: p, kind: kindRead}, userReply(&out)); err != nil {
		return nil, err
	}
	return &out, nil
}

func (a *httpAuthUserAPI) ListUsers(ctx context.Context) ([]string, error) {
	var out struct {
		Users []UserRoles `json:"users"`
	}
	err := a.client.decode(ctx, &request{method: http.MethodGet, path: authUsersPrefix, kind: kindRead}, func(status int, body []byte) error {
		if status != http.StatusOK {
			return authRefusal(body)
		}
		return json.Unmarshal(body, &out)
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out.Users))
	for _, u := range out.Users {
		names = append(names, u.User)
	}
	return names, nil
}
