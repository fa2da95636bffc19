package client

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer is a tiny authoritative DNS server on loopback UDP that answers
// SRV questions from a fixed table and NXDOMAIN to everything else.
type dnsServer struct {
	conn    net.PacketConn
	records map[string][]net.SRV // by lower-case FQDN
	wg      sync.WaitGroup
}

func startDNSServer(t *testing.T, records map[string][]net.SRV) *dnsServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: conn, records: records}
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
	srvs, found := s.records[strings.ToLower(q.Name.String())]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	if !found || q.Type != dnsmessage.TypeSRV {
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
	if rh.RCode == dnsmessage.RCodeSuccess {
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

// useDNSServer points NewSRVDiscover's lookups at s for the test.
func useDNSServer(t *testing.T, s *dnsServer) {
	saved := srvResolver
	srvResolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", s.conn.LocalAddr().String())
		},
	}
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
	want := []string{"https://secure.example.test:2379", "http://plain.example.test:4001"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
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
	if want := []string{"http://prod.example.test:2379"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSRVDiscoverWithoutRecordsFails(t *testing.T) {
	useDNSServer(t, startDNSServer(t, nil))
	got, err := NewSRVDiscover().Discover("example.test", "")
	var dnsErr *net.DNSError
	if err == nil || !errors.As(err, &dnsErr) {
		t.Fatalf("got %v, %v; want an error wrapping the lookups' *net.DNSError", got, err)
	}
}

func TestSRVDiscoveredEndpointsReachTheCluster(t *testing.T) {
	// Go's resolver refuses an IP address as an SRV target: name the
	// members' loopback addresses localhost.
	var srvs []net.SRV
	var want []string
	for _, u := range shared.ClientURLs() {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(pu.Port())
		srvs = append(srvs, net.SRV{Target: "localhost.", Port: uint16(port)})
		want = append(want, "http://localhost:"+pu.Port())
	}
	useDNSServer(t, startDNSServer(t, map[string][]net.SRV{"_etcd-client._tcp.cluster.test.": srvs}))
	eps, err := NewSRVDiscover().Discover("cluster.test", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(eps)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("discovered %v, want %v", eps, want)
	}
	c, _ := newClient(t, eps, Config{})
	if _, err := NewKeysAPI(c).Set(testCtx(t), key(t, "k"), "v", nil); err != nil {
		t.Fatal(err)
	}
}
