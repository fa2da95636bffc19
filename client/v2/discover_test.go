package client

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer is a tiny authoritative DNS server on loopback UDP that answers
// SRV questions from a fixed table, A questions for the loopback names with
// 127.0.0.1, and NXDOMAIN to everything else.
type dnsServer struct {
	conn     net.PacketConn
	records  map[string][]net.SRV // by lower-case FQDN
	loopback []string             // lower-case FQDNs
	wg       sync.WaitGroup
}

func startDNSServer(t *testing.T, records map[string][]net.SRV, loopback ...string) *dnsServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: conn, records: records, loopback: loopback}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() { conn.Close(); s.wg.Wait() })
	return s
}

func (s *dnsServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, addr, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, err := s.answer(buf[:n]); err == nil {
			s.conn.WriteTo(out, addr)
		}
	}
}

func (s *dnsServer) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(q.Name.String())
	srvs, found := s.records[name]
	isLoopback := slices.Contains(s.loopback, name)
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !isLoopback && (!found || q.Type != dnsmessage.TypeSRV) {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if isLoopback && q.Type == dnsmessage.TypeA {
		rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		if err := b.AResource(rr, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}}); err != nil {
			return nil, err
		}
	}
	if rh.RCode == dnsmessage.RCodeSuccess && !isLoopback {
		for _, srv := range srvs {
			target, err := dnsmessage.NewName(srv.Target)
			if err != nil {
				return nil, err
			}
			rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
			if err := b.SRVResource(rr, dnsmessage.SRVResource{Priority: srv.Priority, Weight: srv.Weight, Port: srv.Port, Target: target}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}

// resolverOf returns a resolver that asks s.
func resolverOf(s *dnsServer) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", s.conn.LocalAddr().String())
		},
	}
}

// useDNSServer points NewSRVDiscover's lookups at s for the test.
func useDNSServer(t *testing.T, s *dnsServer) {
	saved := srvResolver
	srvResolver = resolverOf(s)
	t.Cleanup(func() { srvResolver = saved })
}

func TestSRVDiscoverReturnsHTTPSThenHTTPURLs(t *testing.T) {
	useDNSServer(t, startDNSServer(t, map[string][]net.SRV{
		"_etcd-client-ssl._tcp.example.test.": {{Target: "secure.example.test.", Port: 2379}},
		"_etcd-client._tcp.example.test.":     {{Target: "plain.example.test.", Port: 4001}},
	}))
	got, err := NewSRVDiscover().Discover("example.test", "")
	if err != nil {
		t.Fatal(err)
	}
	// The targets keep their trailing dot, as in the official client.
	want := []string{"https://secure.example.test.:2379", "http://plain.example.test.:4001"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want the official %v", got, want)
	}
}

func TestSRVDiscoverWithServiceNameLooksUpSuffixedRecords(t *testing.T) {
	useDNSServer(t, startDNSServer(t, map[string][]net.SRV{
		"_etcd-client._tcp.example.test.":      {{Target: "default.example.test.", Port: 2379}},
		"_etcd-client-prod._tcp.example.test.": {{Target: "prod.example.test.", Port: 2379}},
	}))
	got, err := NewSRVDiscover().Discover("example.test", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://prod.example.test.:2379"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want the official %v", got, want)
	}
}

func TestSRVDiscoverFailsOnlyWhenBothLookupsFail(t *testing.T) {
	useDNSServer(t, startDNSServer(t, nil))
	got, err := NewSRVDiscover().Discover("example.test", "")
	if err == nil || !strings.HasPrefix(err.Error(), "dns lookup errors: ") || !strings.Contains(err.Error(), "_etcd-client-ssl._tcp.example.test") ||
		!strings.Contains(err.Error(), " and lookup _etcd-client._tcp.example.test") {
		t.Fatalf("got %v, %v; want the official \"dns lookup errors: <https lookup's> and <http lookup's>\"", got, err)
	}

	// One lookup failing is no failure.
	useDNSServer(t, startDNSServer(t, map[string][]net.SRV{
		"_etcd-client._tcp.example.test.": {{Target: "plain.example.test.", Port: 2379}},
	}))
	if got, err := NewSRVDiscover().Discover("example.test", ""); err != nil || !slices.Equal(got, []string{"http://plain.example.test.:2379"}) {
		t.Fatalf("with http records only: %v, %v; want their URL and no error", got, err)
	}
}

func TestSRVDiscoveredEndpointsReachTheCluster(t *testing.T) {
	// Go's resolver refuses an IP address as an SRV target: the targets
	// are a name that the test's DNS server resolves to loopback, which
	// the client's transport asks. They keep their trailing dot, as in the
	// official client: a fully qualified name, looked up as is.
	var srvs []net.SRV
	var want []string
	for _, u := range shared.ClientURLs() {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(pu.Port())
		srvs = append(srvs, net.SRV{Target: "members.cluster.test.", Port: uint16(port)})
		want = append(want, "http://members.cluster.test.:"+pu.Port())
	}
	dns := startDNSServer(t, map[string][]net.SRV{"_etcd-client._tcp.cluster.test.": srvs}, "members.cluster.test.")
	useDNSServer(t, dns)
	eps, err := NewSRVDiscover().Discover("cluster.test", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(eps)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("discovered %v, want %v", eps, want)
	}
	tr := DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	tr.DialContext = (&net.Dialer{Resolver: resolverOf(dns)}).DialContext
	c, err := New(Config{Endpoints: eps, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeysAPI(c).Set(testCtx(t), key(t, "k"), "v", nil); err != nil {
		t.Fatal(err)
	}
}
