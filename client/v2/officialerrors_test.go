package client

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The tests of this file hold that a failed call reports its failure with
// the official client's error types and texts, which callers compare and
// log.

// closedPort returns the URL of a loopback port that nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// unprobedClient is a client of urls whose prober never runs, so that only
// the call under test decides what the client knows.
func unprobedClient(t *testing.T, urls []string) KeysAPI {
	c, _ := newClient(t, urls, Config{})
	impl(c).prober.loop.Stop()
	return NewKeysAPI(c)
}

func TestAnUnreachableMemberIsReportedAsTheOfficialClientReportsIt(t *testing.T) {
	ctx := testCtx(t)
	dead := closedPort(t)
	_, err := unprobedClient(t, []string{dead}).Get(ctx, "k", nil)
	cerr := wantClusterError(t, err, 1)
	var op *net.OpError
	if !errors.As(cerr.Errors[0], &op) || !errors.Is(op, syscall.ECONNREFUSED) {
		t.Fatalf("attempt error %v (%T), want the transport's *net.OpError itself, as the official client keeps it", cerr.Errors[0], cerr.Errors[0])
	}
	want := ErrClusterUnavailable.Error() + "; error #0: dial tcp " + strings.TrimPrefix(dead, "http://") + ": connect: connection refused\n"
	if cerr.Error() != want {
		t.Fatalf("ClusterError reads %q, want the official %q", cerr.Error(), want)
	}

	// Create and Delete are one-shot in the official client: it returns
	// the attempt's error itself.
	for name, call := range map[string]func(KeysAPI) error{
		"Create": func(k KeysAPI) error { _, err := k.Create(ctx, "k", "v"); return err },
		"Delete": func(k KeysAPI) error { _, err := k.Delete(ctx, "k", nil); return err },
	} {
		err := call(unprobedClient(t, []string{dead}))
		if _, ok := err.(*net.OpError); !ok || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s on an unreachable member: %v (%T); want the *net.OpError itself, as the official client returns", name, err, err)
		}
	}
	// Other writes are not.
	_, err = unprobedClient(t, []string{dead}).Set(ctx, "k", "v", nil)
	wantClusterError(t, err, 1)
}

// failingGateway is a reverse proxy to a real member that answers status
// itself to keys API requests, as a gateway that cannot reach its backend
// does, and passes everything else (the member's /health) through.
func failingGateway(t *testing.T, member string, status int) string {
	target, err := url.Parse(member)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	proxy.Transport = tr
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/keys") {
			w.WriteHeader(status)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)
	return gw.URL
}

func TestAServerErrorFromAHealthyMemberFailsAtOnceWithTheOfficialText(t *testing.T) {
	ctx := testCtx(t)
	for status, text := range map[int]string{
		http.StatusBadGateway:          "returns server error [Bad Gateway]",
		http.StatusInternalServerError: "has no leader",
	} {
		gw := failingGateway(t, shared.ClientURLs()[0], status)
		c, rec := newClient(t, []string{gw}, Config{})
		k := NewKeysAPI(c)
		for name, call := range map[string]func() error{
			"Get":   func() error { _, err := k.Get(ctx, "k", nil); return err },
			"Watch": func() error { _, err := k.Watcher("k", nil).Next(ctx); return err },
		} {
			n := len(rec.sent())
			start := time.Now()
			err := call()
			took := time.Since(start)
			cerr := wantClusterError(t, err, 1)
			if want := ErrClusterUnavailable.Error() + "; error #0: client: etcd member " + gw + " " + text + "\n"; cerr.Error() != want {
				t.Errorf("%s through a gateway answering %d: %q, want the official %q", name, status, cerr.Error(), want)
			}
			// The member passes its probe: waiting cannot help, and
			// the official client fails after one attempt.
			if sent := len(rec.sent()) - n; sent != 1 || took > time.Second {
				t.Errorf("%s through a gateway answering %d: %d requests in %v; want one, failing at once as the official client does", name, status, sent, took)
			}
		}
	}
}

func TestRedirectFailuresReadAsTheOfficialClientsDo(t *testing.T) {
	ctx := testCtx(t)
	noLocation := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer noLocation.Close()
	c, _ := newClient(t, []string{noLocation.URL}, Config{})
	_, err := NewKeysAPI(c).Get(ctx, "k", nil)
	if cerr := wantClusterError(t, err, 1); cerr.Errors[0].Error() != "location header not set" {
		t.Fatalf("a redirect without Location: %q, want the official \"location header not set\"", cerr.Errors[0])
	}

	// A CheckRedirect that never stops: the official client gives up
	// after 100 requests.
	var hops atomic.Int64
	loop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			hops.Add(1)
		}
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer loop.Close()
	c, _ = newClient(t, []string{loop.URL}, Config{CheckRedirect: func(int) error { return nil }})
	_, err = NewKeysAPI(c).Get(ctx, "k", nil)
	if cerr := wantClusterError(t, err, 1); cerr.Errors[0].Error() != "client: too many redirect checks" || hops.Load() != 100 {
		t.Fatalf("an endless redirect: %q after %d requests, want the official \"client: too many redirect checks\" after 100", cerr.Errors[0], hops.Load())
	}
}

func TestGetVersionFromSomethingThatIsNotEtcdIsErrInvalidJSON(t *testing.T) {
	// A real member, asked under a path prefix it does not serve,
	// answers a plain-text 404 as a proxy would.
	c, _ := newClient(t, []string{shared.ClientURLs()[0] + "/no/such/api"}, Config{})
	if _, err := c.GetVersion(testCtx(t)); err != ErrInvalidJSON {
		t.Fatalf("GetVersion: %v, want ErrInvalidJSON itself, as the official client returns", err)
	}
}

func TestAMemberListWithoutMembersIsEmptyNotNil(t *testing.T) {
	var list []Member
	if err := membersListReply(&list)(http.StatusOK, []byte(`{}`)); err != nil || list == nil || len(list) != 0 {
		t.Fatalf("decoding {}: %#v, %v; want []Member{}, as the official client returns", list, err)
	}
}
