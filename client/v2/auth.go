package client

import (
	"context"
	"encoding/json"
	"net/http"
)

const (
	authPrefix      = "/v2/auth"
	authEnablePath  = authPrefix + "/enable"
	authUsersPrefix = authPrefix + "/users"
	authRolesPrefix = authPrefix + "/roles"
)

// AuthAPI switches the v2 API's authentication on and off. Enabling needs a
// root user (see AuthUserAPI); once enabled, requests without credentials
// get the permissions of the "guest" role, which allows everything until it
// is changed with AuthRoleAPI.
type AuthAPI interface {
	// Enable turns authentication on.
	Enable(ctx context.Context) error

	// Disable turns authentication off; it needs root's credentials.
	Disable(ctx context.Context) error
}

// NewAuthAPI returns an AuthAPI that uses c.
func NewAuthAPI(c Client) AuthAPI { return &httpAuthAPI{client: impl(c)} }

type httpAuthAPI struct{ client *httpClusterClient }

func (a *httpAuthAPI) Enable(ctx context.Context) error {
	return a.client.decode(ctx, &request{method: http.MethodPut, path: authEnablePath, kind: kindWrite}, authDone)
}

func (a *httpAuthAPI) Disable(ctx context.Context) error {
	return a.client.decode(ctx, &request{method: http.MethodDelete, path: authEnablePath, kind: kindWrite}, authDone)
}

// The auth API's replies are decoded as the official client decodes them:
// a refusal is the server's message (an authError, which IsUserNotFound
// and IsRoleNotFound recognize), and a body that does not decode is the
// JSON decoder's error.

// authDone decodes the reply of a change whose result is only whether it
// was done (200 or 201).
func authDone(status int, body []byte) error {
	if status == http.StatusOK || status == http.StatusCreated {
		return nil
	}
	return authRefusal(body)
}

// authRefusal decodes the auth API's refusal: the server's message, or the
// decoder's error when the body is not JSON.
func authRefusal(body []byte) error {
	var e authError
	if err := json.Unmarshal(body, &e); err != nil {
		return err
	}
	return e
}
