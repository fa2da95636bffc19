package endpoint

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Security says how an endpoint's scheme constrains transport security.
type Security int

const (
	// Optional: no scheme ("host:port") or "unix", as the official client
	// treats them; TLS is used iff the client has a
	// TLS configuration.
	Optional Security = iota
	// Insecure: "http"; never TLS.
	Insecure
	// Secure: "https" or "unixs"; always TLS, with default settings if
	// the client has no TLS configuration.
	Secure
)

// Endpoint is a parsed endpoint.
type Endpoint struct {
	// Raw is the endpoint as configured.
	Raw string
	// Network is "tcp" or "unix".
	Network string
	// Addr is what to dial on Network: "host:port" or a socket path.
	Addr string
	// ServerName is the host name to verify a TLS certificate against
	// (the host without port; for unix sockets the path's base name).
	ServerName string
	// Security is the transport security the scheme asks for.
	Security Security
}

// DialTarget is the string that Dial accepts back: the address a resolver
// publishes for this endpoint.
func (e Endpoint) DialTarget() string {
	if e.Network == "unix" {
		return "unix:" + e.Addr
	}
	return e.Addr
}

// Parse parses one endpoint. Accepted forms: "host:port", "[v6]:port",
// "http://host:port", "https://host:port", "unix://path", "unix:path",
// "unixs://path" and "unixs:path". A trailing "/" after host:port is
// ignored. Every other form is an error.
func Parse(raw string) (Endpoint, error) {
	ep := Endpoint{Raw: raw}
	s := strings.TrimSpace(raw)
	if s == "" {
		return ep, fmt.Errorf("endpoint %q: empty", raw)
	}
	scheme, rest, hasScheme := cutScheme(s)
	if !hasScheme {
		ep.Network, ep.Security = "tcp", Optional
		return hostPort(ep, s)
	}
	switch scheme {
	case "http", "https":
		ep.Network, ep.Security = "tcp", Insecure
		if scheme == "https" {
			ep.Security = Secure
		}
		u, err := url.Parse(s)
		if err != nil {
			return ep, fmt.Errorf("endpoint %q: %v", raw, err)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			return ep, fmt.Errorf("endpoint %q: only scheme://host:port is allowed", raw)
		}
		return hostPort(ep, u.Host)
	case "unix", "unixs":
		ep.Network, ep.Security = "unix", Optional
		if scheme == "unixs" {
			ep.Security = Secure
		}
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return ep, fmt.Errorf("endpoint %q: missing socket path", raw)
		}
		if strings.ContainsRune(path, 0) {
			return ep, fmt.Errorf("endpoint %q: socket path contains NUL", raw)
		}
		ep.Addr = path
		ep.ServerName = serverNameOfPath(path)
		return ep, nil
	}
	return ep, fmt.Errorf("endpoint %q: unsupported scheme %q (want http, https, unix or unixs)", raw, scheme)
}

// cutScheme splits "scheme:rest" when the part before ':' is a URL scheme
// we know or looks like one followed by "//". "host:port" is not a scheme.
func cutScheme(s string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return "", "", false
	}
	scheme, rest = strings.ToLower(s[:i]), s[i+1:]
	switch scheme {
	case "http", "https", "unix", "unixs":
		return scheme, rest, true
	}
	if strings.HasPrefix(rest, "//") {
		return scheme, rest, true
	}
	return "", "", false
}

func hostPort(ep Endpoint, hp string) (Endpoint, error) {
	hp = strings.TrimSuffix(hp, "/")
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		return ep, fmt.Errorf("endpoint %q: want host:port: %v", ep.Raw, err)
	}
	if port == "" {
		return ep, fmt.Errorf("endpoint %q: missing port", ep.Raw)
	}
	for _, r := range port {
		if r < '0' || r > '9' {
			return ep, fmt.Errorf("endpoint %q: port %q is not a number", ep.Raw, port)
		}
	}
	if strings.ContainsAny(host, " /\x00") {
		return ep, fmt.Errorf("endpoint %q: bad host %q", ep.Raw, host)
	}
	if host == "" {
		host = "localhost"
	}
	ep.Addr = net.JoinHostPort(host, port)
	ep.ServerName = host
	return ep, nil
}

func serverNameOfPath(path string) string {
	name := path
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	if name == "" {
		name = "localhost"
	}
	return name
}

// Dial connects to a dial target produced by Endpoint.DialTarget.
func Dial(ctx context.Context, target string) (net.Conn, error) {
	network, addr := "tcp", target
	if p, ok := strings.CutPrefix(target, "unix:"); ok {
		network, addr = "unix", p
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
