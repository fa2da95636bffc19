// Package endpoint parses the endpoint strings a client is configured with
// ("host:port", "http(s)://host:port", "unix(s)://path") into what dialing
// needs: the network and address, the TLS server name, and whether the
// scheme demands TLS.
package endpoint
