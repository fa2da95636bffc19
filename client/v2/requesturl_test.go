package client

import (
	"net/url"
	"testing"
)

func TestRequestURLOfEqualsParsedRequestURL(t *testing.T) {
	eps := []endpoint{
		{scheme: "http", host: "127.0.0.1:2379"},
		{scheme: "https", host: "[::1]:2379", path: "/pre fix"},
		{scheme: "http", host: "example.com:"},
	}
	paths := []string{"/v2/keys/a", "/v2/keys/dir/", "/v2/keys/a b/c%d?e#f", "/v2/keys/é\x01\x7f;,=@$&+:", "/v2/keys/%2F%zz"}
	for _, ep := range eps {
		for _, p := range paths {
			req := request{path: p, query: "recursive=true&x=%20"}
			want, err := url.Parse(requestURL(&ep, &req))
			if err != nil {
				t.Fatalf("parsing %q: %v", requestURL(&ep, &req), err)
			}
			got := requestURLOf(&ep, &req)
			if got.String() != want.String() || got.RequestURI() != want.RequestURI() || got.Host != want.Host || got.Scheme != want.Scheme {
				t.Errorf("for %q on %+v: got %q (request URI %q), want %q (request URI %q)", p, ep, got.String(), got.RequestURI(), want, want.RequestURI())
			}
		}
	}
}

func TestKeyPathJoinsAndCleans(t *testing.T) {
	for _, c := range []struct{ prefix, key, want string }{
		{"/v2/keys", "a", "/v2/keys/a"},
		{"/v2/keys", "/a/b", "/v2/keys/a/b"},
		{"/v2/keys", "/dir/", "/v2/keys/dir/"},
		{"/v2/keys", "dir//x/../y/", "/v2/keys/dir/y/"},
		{"/v2/keys", "", "/v2/keys"},
		{"/v2/keys", "/", "/v2/keys/"},
		{"v2/keys", "a", "/v2/keys/a"},
		{"", "", "/"},
		{"", "/", "/"},
		{"/", "a/", "/a/"},
		{"/v2/keys/", "/a", "/v2/keys/a"},
	} {
		if got := keyPath(c.prefix, c.key); got != c.want {
			t.Errorf("keyPath(%q, %q) = %q, want %q", c.prefix, c.key, got, c.want)
		}
	}
}
