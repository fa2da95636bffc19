package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// Role is a role of the v2 auth API: a name with permissions on key
// prefixes (a trailing "*" matches every key under a prefix).
type Role struct {
	Role        string       `json:"role"`
	Permissions Permissions  `json:"permissions"`
	Grant       *Permissions `json:"grant,omitempty"`
	Revoke      *Permissions `json:"revoke,omitempty"`
}

// Permissions are a role's permissions on the keys API.
type Permissions struct {
	KV rwPermission `json:"kv"`
}

// rwPermission lists the key prefixes a role may read and may write.
type rwPermission struct {
	Read  []string `json:"read"`
	Write []string `json:"write"`
}

// PermissionType selects which permissions GrantRoleKV and RevokeRoleKV
// change.
type PermissionType int

// The permission types.
const (
	ReadPermission PermissionType = iota
	WritePermission
	ReadWritePermission
)

// AuthRoleAPI manages the roles of the v2 auth API. When authentication is
// enabled, only root may use it.
type AuthRoleAPI interface {
	// AddRole adds a role without permissions.
	AddRole(ctx context.Context, role string) error

	// RemoveRole removes a role.
	RemoveRole(ctx context.Context, role string) error

	// GetRole returns a role.
	GetRole(ctx context.Context, role string) (*Role, error)

	// GrantRoleKV gives a role permType access to the key prefixes, and
	// returns the role as changed.
	GrantRoleKV(ctx context.Context, role string, prefixes []string, permType PermissionType) (*Role, error)

	// RevokeRoleKV takes permType access to the key prefixes from a role,
	// and returns the role as changed.
	RevokeRoleKV(ctx context.Context, role string, prefixes []string, permType PermissionType) (*Role, error)

	// ListRoles returns the names of all roles.
	ListRoles(ctx context.Context) ([]string, error)
}

// NewAuthRoleAPI returns an AuthRoleAPI that uses c.
func NewAuthRoleAPI(c Client) AuthRoleAPI { return &httpAuthRoleAPI{client: impl(c)} }

type httpAuthRoleAPI struct{ client *httpClusterClient }

// permissionsFor returns the permissions of type t on prefixes.
func permissionsFor(prefixes []string, t PermissionType) *Permissions {
	p := &Permissions{}
	if t == ReadPermission || t == ReadWritePermission {
		p.KV.Read = prefixes
	}
	if t == WritePermission || t == ReadWritePermission {
		p.KV.Write = prefixes
	}
	return p
}

// roleReply decodes the reply of a call that returns a role (200 only)
// into out.
func roleReply(out *Role) replyDecoder {
	return func(status int, body []byte) error {
		if status != http.StatusOK {
			return authRefusal(body)
		}
		return json.Unmarshal(body, out)
	}
}

// putRole sends a change of a role, decoding the reply with dec.
func (a *httpAuthRoleAPI) putRole(ctx context.Context, change Role, dec replyDecoder) error {
	p, err := subPath(authRolesPrefix, change.Role)
	if err != nil {
		return err
	}
	body, err := json.Marshal(change)
	if err != nil {
		return err
	}
	req := &request{method: http.MethodPut, path: p, body: string(body), bodyType: bodyJSON, kind: kindWrite}
	return a.client.decode(ctx, req, dec)
}

// modRole sends a change of a role and returns the role as changed.
func (a *httpAuthRoleAPI) modRole(ctx context.Context, change Role) (*Role, error) {
	var out Role
	if err := a.putRole(ctx, change, roleReply(&out)); err != nil {
		return nil, err
	}
	return &out, nil
}

func (a *httpAuthRoleAPI) AddRole(ctx context.Context, role string) error {
	return a.putRole(ctx, Role{Role: role}, authDone)
}

func (a *httpAuthRoleAPI) GrantRoleKV(ctx context.Context, role string, prefixes []string, permType PermissionType) (*Role, error) {
	return a.modRole(ctx, Role{Role: role, Grant: permissionsFor(prefixes, permType)})
}

func (a *httpAuthRoleAPI) RevokeRoleKV(ctx context.Context, role string, prefixes []string, permType PermissionType) (*Role, error) {
	return a.modRole(ctx, Role{Role: role, Revoke: permissionsFor(prefixes, permType)})
}

func (a *httpAuthRoleAPI) RemoveRole(ctx context.Context, role string) error {
	p, err := subPath(authRolesPrefix, role)
	if err != nil {
		return err
	}
	return a.client.decode(ctx, &request{method: http.MethodDelete, path: p, kind: kindWrite}, authDone)
}

func (a *httpAuthRoleAPI) GetRole(ctx context.Context, role string) (*Role, error) {
	p, err := subPath(authRolesPrefix, role)
	if err != nil {
		return nil, err
	}
	var out Role
	if err := a.client.decode(ctx, &request{method: http.MethodGet, path: p, kind: kindRead}, roleReply(&out)); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListRoles differs from the other auth calls in one way, as in the
// official client: a refusal is "unexpected status code N", without the
// server's message.
func (a *httpAuthRoleAPI) ListRoles(ctx context.Context) ([]string, error) {
	var out struct {
		Roles []Role `json:"roles"`
	}
	err := a.client.decode(ctx, &request{method: http.MethodGet, path: authRolesPrefix, kind: kindRead}, func(status int, body []byte) error {
		if status != http.StatusOK {
			return unexpectedStatus(status)
		}
		return json.Unmarshal(body, &out)
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(out.Roles))
	for _, r := range out.Roles {
		names = append(names, r.Role)
	}
	return names, nil
}
