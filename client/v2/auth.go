package client

import (
	"context"
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
	return call(ctx, a.client, &request{method: http.MethodPut, path: authEnablePath, kind: kindWrite}, nil, http.StatusOK)
}

func (a *httpAuthAPI) Disable(ctx context.Context) error {
	return call(ctx, a.client, &request{method: http.MethodDelete, path: authEnablePath, kind: kindWrite}, nil, http.StatusOK)
}
