package sharedcluster

import (
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// RestrictedUser turns auth on in the cluster at endpoints, which must
// have it off: root gets password "rootpw", and user (password user+"pw")
// a role that grants perm on the keys under prefix and nothing else. It
// returns clients of root and of user, closed when t ends.
func RestrictedUser(t testing.TB, endpoints []string, user, prefix string, perm clientv3.PermissionType) (root, restricted *clientv3.Client) {
	t.Helper()
	admin := ClientOf(t, endpoints)
	ctx := Context(t)
	role := user + "-role"
	steps := []struct {
		what string
		do   func() error
	}{
		{"add root", func() error { _, err := admin.UserAdd(ctx, "root", "rootpw"); return err }},
		{"make root root", func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err }},
		{"add the role", func() error { _, err := admin.RoleAdd(ctx, role); return err }},
		{"grant the role " + prefix, func() error {
			_, err := admin.RoleGrantPermission(ctx, role, prefix, clientv3.GetPrefixRangeEnd(prefix), perm)
			return err
		}},
		{"add " + user, func() error { _, err := admin.UserAdd(ctx, user, user+"pw"); return err }},
		{"give " + user + " the role", func() error { _, err := admin.UserGrantRole(ctx, user, role); return err }},
		{"enable auth", func() error { _, err := admin.AuthEnable(ctx); return err }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
	}
	root = ClientOf(t, endpoints, func(c *clientv3.Config) { c.Username, c.Password = "root", "rootpw" })
	restricted = ClientOf(t, endpoints, func(c *clientv3.Config) { c.Username, c.Password = user, user+"pw" })
	return root, restricted
}
