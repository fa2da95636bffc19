package client

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
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
// on. Discover fails only when neither record set is found.
func NewSRVDiscover() Discoverer { return srvDiscover{} }

// srvResolver is the resolver NewSRVDiscover's lookups use; tests point it at
// a DNS server of their own.
var srvResolver = net.DefaultResolver

type srvDiscover struct{}

func (srvDiscover) Discover(domain, serviceName string) ([]string, error) {
	var urls []string
	var errs []error
	for _, s := range [...]struct{ service, scheme string }{
		{"etcd-client-ssl", "https"},
		{"etcd-client", "http"},
	} {
		service := s.service
		if serviceName != "" {
			service += "-" + serviceName
		}
		_, addrs, err := srvResolver.LookupSRV(context.Background(), service, "tcp", domain)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range addrs {
			host := strings.TrimSuffix(a.Target, ".")
			urls = append(urls, s.scheme+"://"+net.JoinHostPort(host, strconv.Itoa(int(a.Port))))
		}
	}
	if len(urls) == 0 {
		errs = append([]error{errors.New("client: no etcd client SRV records for " + domain)}, errs...)
		return nil, errors.Join(errs...)
	}
	return urls, nil
}
