package yaml

import (
	"crypto/x509"
	"encoding/pem"
	"os"
)

// loadRoots returns a pool of every PEM block in the file at path, each
// parsed as a certificate, as the official client loads trusted-ca-file:
// a block that is not a certificate (a key, say) is an error, and a file
// with no PEM block gives an empty pool, which trusts no server, rather
// than an error.
func loadRoots(path string) (*x509.CertPool, error) {
	rest, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return pool, nil
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		pool.AddCert(cert)
	}
}
