// Package yaml reads a clientv3.Config from a YAML file.
//
// The file uses the JSON names of clientv3.Config's fields (endpoints,
// dial-timeout, username, ...; durations are integers in nanoseconds) plus
// the TLS settings, which name files:
//
//	endpoints: ["https://127.0.0.1:2379"]
//	dial-timeout: 5000000000
//	cert-file: client.crt
//	key-file: client.key
//	trusted-ca-file: ca.crt
//	insecure-skip-tls-verify: false
//	insecure-transport: false
//
// Unless insecure-transport is true, the returned Config has a TLS
// configuration, trusting the system roots when trusted-ca-file is not
// given. The deprecated ca-file is accepted but, as in the official
// client, has no effect.
package yaml

import (
	"crypto/tls"
	"os"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"sigs.k8s.io/yaml"
)

// fileConfig is the file's layout: Config's own fields, inlined through
// their JSON tags, plus the TLS file settings.
type fileConfig struct {
	clientv3.Config

	InsecureTransport     bool   `json:"insecure-transport"`
	InsecureSkipTLSVerify bool   `json:"insecure-skip-tls-verify"`
	Certfile              string `json:"cert-file"`
	Keyfile               string `json:"key-file"`
	TrustedCAfile         string `json:"trusted-ca-file"`

	// CAfile is the deprecated older name of TrustedCAfile. It is read
	// but, as by the official client, never used: only trusted-ca-file
	// sets the roots.
	CAfile string `json:"ca-file"`
}

// NewConfig reads the YAML file at fpath and returns the client
// configuration it describes, loading any certificate files it names. Its
// errors are those of reading and decoding the files, unwrapped, as the
// official client returns them.
func NewConfig(fpath string) (*clientv3.Config, error) {
	b, err := os.ReadFile(fpath)
	if err != nil {
		return nil, err
	}
	var fc fileConfig
	if err := yaml.Unmarshal(b, &fc); err != nil {
		return nil, err
	}
	if fc.InsecureTransport {
		return &fc.Config, nil
	}
	tlsCfg, err := fc.tlsConfig()
	if err != nil {
		return nil, err
	}
	fc.Config.TLS = tlsCfg
	return &fc.Config, nil
}

// tlsConfig builds the TLS configuration the file describes. A client
// certificate is loaded only when both cert-file and key-file are set.
func (fc *fileConfig) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: fc.InsecureSkipTLSVerify,
	}
	if fc.Certfile != "" && fc.Keyfile != "" {
		cert, err := tls.LoadX509KeyPair(fc.Certfile, fc.Keyfile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if fc.TrustedCAfile != "" {
		pool, err := loadRoots(fc.TrustedCAfile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
