package endpoint

import (
	"strings"
	"testing"
)

func TestParseAcceptsEveryDocumentedForm(t *testing.T) {
	tests := []struct {
		in       string
		network  string
		addr     string
		server   string
		security Security
	}{
		{"127.0.0.1:2379", "tcp", "127.0.0.1:2379", "127.0.0.1", Optional},
		{"localhost:2379", "tcp", "localhost:2379", "localhost", Optional},
		{"[::1]:2379", "tcp", "[::1]:2379", "::1", Optional},
		{"http://10.0.0.1:2379", "tcp", "10.0.0.1:2379", "10.0.0.1", Insecure},
		{"http://example.com:2379/", "tcp", "example.com:2379", "example.com", Insecure},
		{"HTTPS://example.com:2379", "tcp", "example.com:2379", "example.com", Secure},
		{"https://[::1]:2379", "tcp", "[::1]:2379", "::1", Secure},
		{"unix:///tmp/etcd.sock", "unix", "/tmp/etcd.sock", "etcd.sock", Optional},
		{"unix://localhost:2379", "unix", "localhost:2379", "localhost", Optional},
		{"unix:etcd.sock", "unix", "etcd.sock", "etcd.sock", Optional},
		{"unixs:///tmp/etcd.sock", "unix", "/tmp/etcd.sock", "etcd.sock", Secure},
		{"unixs://host1:2379", "unix", "host1:2379", "host1", Secure},
	}
	for _, tt := range tests {
		ep, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): unexpected error %v", tt.in, err)
			continue
		}
		if ep.Network != tt.network || ep.Addr != tt.addr || ep.ServerName != tt.server || ep.Security != tt.security {
			t.Errorf("Parse(%q) = {%s %s %s %d}, want {%s %s %s %d}", tt.in,
				ep.Network, ep.Addr, ep.ServerName, ep.Security, tt.network, tt.addr, tt.server, tt.security)
		}
	}
}

func TestParseRejectsMalformedEndpointsWithTheirText(t *testing.T) {
	for _, in := range []string{
		"", "   ", "localhost", "http://localhost", "http://:", "ftp://h:1", "grpc://h:1",
		"https://h:1/path", "http://u:p@h:1", "unix://", "unixs:", "h:port", "h:1:2", "http://h:1?x=1",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q): got no error, want one", in)
			continue
		}
		if !strings.Contains(err.Error(), "endpoint") {
			t.Errorf("Parse(%q): error %q does not say which endpoint", in, err)
		}
	}
}

func TestDialTargetRoundTripsThroughDial(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:1":  "127.0.0.1:1",
		"unix:///tmp/x.sock":  "unix:/tmp/x.sock",
		"unixs://rel/x.sock":  "unix:rel/x.sock",
		"https://[::1]:65535": "[::1]:65535",
	} {
		ep, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if got := ep.DialTarget(); got != want {
			t.Errorf("Parse(%q).DialTarget() = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseNeverPanicsAndValidEndpointsAreDialable(f *testing.F) {
	for _, s := range []string{"127.0.0.1:2379", "https://h:1", "unix:///a", "unixs:b", "http://[::1]:2", "::::", "http://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := Parse(s)
		if err != nil {
			return
		}
		if ep.Network != "tcp" && ep.Network != "unix" {
			t.Fatalf("Parse(%q): network %q", s, ep.Network)
		}
		if ep.Addr == "" || ep.ServerName == "" {
			t.Fatalf("Parse(%q): empty addr or server name: %+v", s, ep)
		}
		// Parsing is stable: the dial target parses to the same address.
		if ep.Network == "tcp" {
			again, err := Parse(ep.DialTarget())
			if err != nil || again.Addr != ep.Addr {
				t.Fatalf("Parse(%q).DialTarget()=%q reparses to %+v, %v", s, ep.DialTarget(), again, err)
			}
		}
	})
}
