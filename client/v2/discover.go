package client

import (
	"context"
	"errors"
	"net"
	"strconv"
)

// Discoverer finds the client URLs of an etcd cluster.
type Discoverer interface {
	// Discover returns the client URLs of the cluster that serves domain;
	// serviceName, when not empty, selects one of several clusters there.
	Discover(domain string, serviceName string) ([]string, error)
}

// NewSRVDiscover returns a Discoverer that reads DNS SRV records: the targets
// of _etcd-client-ssl._tcp.<domain> become https URLs and those of
// _etcd-client._tcp.<domain> http URLs, in that order. A serviceName adds a
// suffix to the service: _etcd-client-ssl-<serviceName>._tcp.<domain>, and so
// on. Discover fails only when both lookups fail.
func NewSRVDiscover() Discoverer { return srvDiscover{} }

// srvResolver is the resolver NewSRVDiscover's lookups use; tests point it at
// a DNS server of their own.
var srvResolver = net.DefaultResolver

type srvDiscover struct{}

// Discover returns the URLs as the official client does: each SRV target
// as the DNS gives it, trailing dot included (a fully qualified name, which
// resolves the same), and an error only when both lookups fail.
func (srvDiscover) Discover(domain, serviceName string) ([]string, error) {
	urls := []string{}
	var errs [2]error
	for i, s := range [...]struct{ service, scheme string }{
		{"etcd-client-ssl", "https"},
		{"etcd-client", "http"},
	} {
		service := s.service
		if serviceName != "" {
			service += "-" + serviceName
		}
		_, addrs, err := srvResolver.LookupSRV(context.Background(), service, "tcp", domain)
		if err != nil {
			errs[i] = err
			continue
		}
		for _, a := range addrs {
			urls = append(urls, s.scheme+"://"+net.JoinHostPort(a.Target, strconv.Itoa(int(a.Port))))
		}
	}
	if errs[0] != nil && errs[1] != nil {
		return nil, errors.New("dns lookup errors: " + errs[0].Error() + " and " + errs[1].Error())
	}
	return urls, nil
}
