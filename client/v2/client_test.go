package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewWithoutEndpointsReturnsErrNoEndpoints(t *testing.T) {
	if _, err := New(Config{}); err != ErrNoEndpoints {
		t.Fatalf("got %v, want ErrNoEndpoints itself", err)
	}
}

func TestNewAcceptsEveryParsableEndpointAsTheOfficialClientDoes(t *testing.T) {
	// The official client refuses only what url.Parse refuses; a URL its
	// transport cannot reach fails when a request is sent (a custom
	// Transport may know how to reach it).
	for _, ep := range []string{"localhost:2379", "ftp://host", "http://", "unix:///tmp/sock"} {
		if _, err := New(Config{Endpoints: []string{ep}}); err != nil {
			t.Errorf("New(%q): %v; the official client accepts it", ep, err)
		}
	}
	if _, err := New(Config{Endpoints: []string{"://x"}}); err == nil {
		t.Error("New accepted \"://x\", which url.Parse refuses; the official client returns the parse error")
	}
	c, err := New(Config{Endpoints: []string{"localhost:2379"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewKeysAPI(c).Get(testCtx(t), "k", nil)
	if cerr, ok := err.(*ClusterError); !ok || len(cerr.Errors) != 1 || !strings.Contains(cerr.Errors[0].Error(), "unsupported protocol scheme") {
		t.Fatalf("Get on endpoint \"localhost:2379\": %v; the official client fails with a *ClusterError holding the transport's unsupported protocol scheme error", err)
	}
}

func TestSetEndpointsReplacesEndpointsAndEndpointsReturnsACopy(t *testing.T) {
	c, err := New(Config{Endpoints: []string{"http://a:1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://b:2", "https://c:3/prefix"}
	if err := c.SetEndpoints(want); err != nil {
		t.Fatal(err)
	}
	got := c.Endpoints()
	if !slices.Equal(slices.Sorted(slices.Values(got)), want) {
		t.Fatalf("got %v, want %v in some order", got, want)
	}
	got[0] = "changed"
	if slices.Contains(c.Endpoints(), "changed") {
		t.Fatal("changing the slice Endpoints returned changed the client")
	}
	if err := c.SetEndpoints(nil); err != ErrNoEndpoints {
		t.Fatalf("SetEndpoints(nil): %v, want ErrNoEndpoints", err)
	}
	if err := c.SetEndpoints([]string{"http://a:1", "://bad"}); err == nil || len(c.Endpoints()) != 2 {
		t.Fatalf("SetEndpoints with a bad URL: %v, endpoints %v; want an error and no change", err, c.Endpoints())
	}
}

func TestDoWithoutActionReturnsErrNoRequest(t *testing.T) {
	c, _ := newClient(t, shared.ClientURLs(), Config{})
	if _, _, err := c.Do(context.Background(), nil); err != ErrNoRequest {
		t.Fatalf("got %v, want ErrNoRequest", err)
	}
}

func TestDoReturnsTheResponseAndItsBody(t *testing.T) {
	c, _ := newClient(t, shared.ClientURLs(), Config{})
	resp, body, err := c.Do(testCtx(t), &request{method: http.MethodGet, path: "/version", kind: kindRead})
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"etcdserver":"3.5.35"`)) {
		t.Fatalf("got %v, %q, %v; want 200 with the version", resp, body, err)
	}
}

func TestEndpointThatIsNotEtcdGivesAPlainError(t *testing.T) {
	ctx := testCtx(t)
	c, _ := newClient(t, shared.ClientURLs(), Config{})
	// A real etcd member, asked at a path that is not the keys API,
	// answers what a server that is not etcd would.
	for _, prefix := range []string{"/no/such/api", "/health"} {
		_, err := NewKeysAPIWithPrefix(c, prefix).Get(ctx, "k", nil)
		if err != ErrInvalidJSON {
			t.Errorf("prefix %s: got %v, want ErrInvalidJSON itself", prefix, err)
		}
	}
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer empty.Close()
	ce, _ := newClient(t, []string{empty.URL}, Config{})
	if _, err := NewKeysAPI(ce).Get(ctx, "k", nil); err != ErrEmptyBody {
		t.Fatalf("empty 200 response: got %v, want ErrEmptyBody itself", err)
	}
}

func TestRedirectsAreFollowedUpToCheckRedirect(t *testing.T) {
	ctx := testCtx(t)
	member := shared.ClientURLs()[0]
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, member+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer loop.Close()

	c, _ := newClient(t, []string{redirect.URL}, Config{})
	k := NewKeysAPI(c)
	if _, err := k.Set(ctx, key(t, "k"), "v", nil); err != nil {
		t.Fatalf("Set through a redirect: %v", err)
	}
	if resp, err := k.Get(ctx, key(t, "k"), nil); err != nil || resp.Node.Value != "v" {
		t.Fatalf("Get through a redirect: %+v, %v", resp, err)
	}

	cl, _ := newClient(t, []string{loop.URL}, Config{})
	_, err := NewKeysAPI(cl).Get(ctx, key(t, "k"), nil)
	cerr := wantClusterError(t, err, 1)
	if !errors.Is(cerr.Errors[0], ErrTooManyRedirects) {
		t.Fatalf("got %v, want ErrTooManyRedirects", cerr.Errors[0])
	}

	refuse := errors.New("no redirects")
	cn, _ := newClient(t, []string{redirect.URL}, Config{CheckRedirect: func(int) error { return refuse }})
	_, err = NewKeysAPI(cn).Get(ctx, key(t, "k"), nil)
	if cerr := wantClusterError(t, err, 1); !errors.Is(cerr.Errors[0], refuse) {
		t.Fatalf("got %v, want CheckRedirect's error", cerr.Errors[0])
	}
}

func TestErrorFormatsCodeMessageCauseAndIndex(t *testing.T) {
	e := Error{Code: 105, Message: "Key already exists", Cause: "/foo", Index: 7}
	if got, want := e.Error(), "105: Key already exists (/foo) [7]"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !IsKeyNotFound(Error{Code: ErrorCodeKeyNotFound}) || IsKeyNotFound(e) || IsKeyNotFound(nil) {
		t.Fatal("IsKeyNotFound does not tell an Error by its code")
	}
	wrapped := fmt.Errorf("creating: %w", Error{Code: ErrorCodeKeyNotFound})
	if IsKeyNotFound(wrapped) || IsKeyNotFound(&Error{Code: ErrorCodeKeyNotFound}) {
		t.Fatal("IsKeyNotFound holds for a wrapped Error or an *Error; the official function looks at an Error value only")
	}
}

func TestClusterErrorListsEveryAttempt(t *testing.T) {
	ce := &ClusterError{Errors: []error{errors.New("first"), errors.New("second")}}
	if got, want := ce.Error(), ErrClusterUnavailable.Error()+"; error #0: first\n; error #1: second\n"; got != want {
		t.Fatalf("Error() = %q, want the official format %q", got, want)
	}
	if got, want := ce.Detail(), "error #0: first\nerror #1: second\n"; got != want {
		t.Fatalf("Detail() = %q, want %q", got, want)
	}
	var target *ClusterError
	if !errors.As(fmt.Errorf("wrapped: %w", ce), &target) || target != ce {
		t.Fatal("errors.As does not find a wrapped *ClusterError")
	}
}

func TestNodeStringAndTTLDuration(t *testing.T) {
	n := &Node{Key: "/a", CreatedIndex: 1, ModifiedIndex: 2, TTL: 5}
	if got, want := n.String(), "{Key: /a, CreatedIndex: 1, ModifiedIndex: 2, TTL: 5}"; got != want {
		t.Fatalf("got %q, want the official %q (TTL in bare seconds)", got, want)
	}
	if n.TTLDuration() != 5*time.Second {
		t.Fatalf("TTLDuration = %v, want 5s", n.TTLDuration())
	}
}

func TestKeyPathCleansAndKeepsTrailingSlash(t *testing.T) {
	for _, c := range []struct{ prefix, key, want string }{
		{"/v2/keys", "/foo", "/v2/keys/foo"},
		{"/v2/keys", "foo", "/v2/keys/foo"},
		{"/v2/keys", "/foo/", "/v2/keys/foo/"},
		{"/v2/keys", "//a//b/../c", "/v2/keys/a/c"},
		{"/v2/keys", "", "/v2/keys"},
		{"v2/keys", "/", "/v2/keys/"},
	} {
		if got := keyPath(c.prefix, c.key); got != c.want {
			t.Errorf("keyPath(%q, %q) = %q, want %q", c.prefix, c.key, got, c.want)
		}
	}
}

func TestCURLDebugPrintsRequestsWithoutPasswords(t *testing.T) {
	var out bytes.Buffer
	cURLMu.Lock()
	saved := cURLOutput
	cURLOutput = &out
	cURLMu.Unlock()
	EnablecURLDebug()
	defer func() {
		DisablecURLDebug()
		cURLMu.Lock()
		cURLOutput = saved
		cURLMu.Unlock()
	}()
	ctx := testCtx(t)
	c, _ := newClient(t, shared.ClientURLs(), Config{Username: "someone", Password: "s3cret-pw"})
	if _, err := NewKeysAPI(c).Set(ctx, key(t, "k"), "v", nil); err != nil {
		t.Fatal(err)
	}
	user := strings.ReplaceAll(t.Name(), "/", "_")
	users := NewAuthUserAPI(c)
	if err := users.AddUser(ctx, user, "n3w-pw"); err != nil {
		t.Fatal(err)
	}
	defer users.RemoveUser(ctx, user)
	DisablecURLDebug()
	if _, err := NewKeysAPI(c).Get(ctx, key(t, "k"), nil); err != nil {
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("printed %d lines, want 2 (Set and AddUser):\n%s", len(lines), out.String())
	}
	wantSet := regexp.MustCompile(`^cURL Command: curl -X PUT http://[^ ]+/v2/keys` + regexp.QuoteMeta(key(t, "k")) + ` -d "value=v"$`)
	if !wantSet.MatchString(lines[0]) {
		t.Fatalf("Set printed %q, want the official format \"cURL Command: curl -X PUT URL -d \\\"value=v\\\"\"", lines[0])
	}
	if want := `-d "<omitted: holds a password>"`; !strings.HasPrefix(lines[1], "cURL Command: curl -X PUT http://") || !strings.HasSuffix(lines[1], want) {
		t.Fatalf("AddUser printed %q, want the official format with the body shown as %s", lines[1], want)
	}
	for _, secret := range []string{"s3cret-pw", "n3w-pw", "Authorization", "Basic "} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("the output shows %q:\n%s", secret, out.String())
		}
	}
}

// wrappedClient is how users decorate a Client (for metrics, logging):
// embed it and override what they observe.
type wrappedClient struct {
	Client
	syncs int
}

func (w *wrappedClient) Sync(ctx context.Context) error {
	w.syncs++
	return w.Client.Sync(ctx)
}

func TestTheAPIsAcceptAClientWrappedByEmbedding(t *testing.T) {
	c, _ := newClient(t, shared.ClientURLs(), Config{})
	w := &wrappedClient{Client: c}
	kapi := NewKeysAPI(w)
	k := key(t, "wrapped")
	if _, err := kapi.Set(testCtx(t), k, "v", nil); err != nil {
		t.Fatalf("Set through a wrapped client: %v", err)
	}
	resp, err := kapi.Get(testCtx(t), k, nil)
	if err != nil || resp.Node.Value != "v" {
		t.Fatalf("Get through a wrapped client: got %v, %v; want the value set", resp, err)
	}
	if _, err := NewMembersAPI(w).List(testCtx(t)); err != nil {
		t.Fatalf("MembersAPI.List through a wrapped client: %v", err)
	}
	_ = NewAuthAPI(w)
	_ = NewAuthUserAPI(w)
	_ = NewAuthRoleAPI(w)
	if err := w.Sync(testCtx(t)); err != nil || w.syncs != 1 {
		t.Fatalf("the wrapper's own Sync: err %v, %d calls; want nil, 1", err, w.syncs)
	}
}
