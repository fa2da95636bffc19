package yaml_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/yaml"
	"github.com/a74b11dd/etcdkit/etcdtest"
	sigsyaml "sigs.k8s.io/yaml"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "client.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewConfigReadsConfigFieldsByTheirJSONNames(t *testing.T) {
	p := writeFile(t, `
endpoints: ["127.0.0.1:2379", "127.0.0.1:22379"]
auto-sync-interval: 3000000000
dial-timeout: 1000000000
dial-keep-alive-time: 4000000000
dial-keep-alive-timeout: 5000000000
username: alice
password: secret
reject-old-cluster: true
permit-without-stream: true
max-unary-retries: 7
backoff-wait-between: 6000000
backoff-jitter-fraction: 0.25
insecure-transport: true
`)
	cfg, err := yaml.NewConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := clientv3.Config{
		Endpoints:             []string{"127.0.0.1:2379", "127.0.0.1:22379"},
		AutoSyncInterval:      3 * time.Second,
		DialTimeout:           time.Second,
		DialKeepAliveTime:     4 * time.Second,
		DialKeepAliveTimeout:  5 * time.Second,
		Username:              "alice",
		Password:              "secret",
		RejectOldCluster:      true,
		PermitWithoutStream:   true,
		MaxUnaryRetries:       7,
		BackoffWaitBetween:    6 * time.Millisecond,
		BackoffJitterFraction: 0.25,
	}
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("config =\n%+v\nwant\n%+v", *cfg, want)
	}
}

func TestNewConfigWithoutInsecureTransportHasTLS(t *testing.T) {
	cfg, err := yaml.NewConfig(writeFile(t, "endpoints: [\"127.0.0.1:2379\"]\ninsecure-skip-tls-verify: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == nil {
		t.Fatal("TLS = nil, want a TLS configuration when insecure-transport is not set")
	}
	if !cfg.TLS.InsecureSkipVerify {
		t.Error("InsecureSkipVerify = false, want true")
	}
	if cfg.TLS.RootCAs != nil || len(cfg.TLS.Certificates) != 0 {
		t.Error("TLS has roots or certificates though the file names none")
	}
}

func TestNewConfigReturnsTheUnderlyingErrorsUnwrapped(t *testing.T) {
	malformed := "endpoints: [\n"
	wantYAML := sigsyaml.Unmarshal([]byte(malformed), &struct{}{})
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"malformed yaml", malformed, wantYAML.Error()},
		{"missing certificate file", "cert-file: /nonexistent.crt\nkey-file: /nonexistent.key\n",
			"open /nonexistent.crt: no such file or directory"},
		{"missing trusted CA file", "trusted-ca-file: /nonexistent-ca.crt\n",
			"open /nonexistent-ca.crt: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := yaml.NewConfig(writeFile(t, tt.content))
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewConfig error = %v; the official returns %q", err, tt.want)
			}
		})
	}
	if _, err := yaml.NewConfig(filepath.Join(t.TempDir(), "absent.yaml")); !os.IsNotExist(err) {
		t.Errorf("NewConfig(absent file) error = %v, want not-exist", err)
	}
}

func TestNewConfigReadsButNeverUsesCAFile(t *testing.T) {
	cfg, err := yaml.NewConfig(writeFile(t, "ca-file: /nonexistent-ca.crt\n"))
	if err != nil {
		t.Fatalf("NewConfig with only ca-file: %v; the official ignores ca-file and succeeds", err)
	}
	if cfg.TLS == nil || cfg.TLS.RootCAs != nil {
		t.Errorf("TLS = %+v; the official sets RootCAs only from trusted-ca-file, leaving it nil here", cfg.TLS)
	}
}

func TestNewConfigTrustedCAFileWithoutCertificatesGivesAnEmptyPool(t *testing.T) {
	cfg, err := yaml.NewConfig(writeFile(t, "trusted-ca-file: "+os.DevNull+"\n"))
	if err != nil {
		t.Fatalf("NewConfig with an empty trusted-ca-file: %v; the official succeeds with an empty pool", err)
	}
	if cfg.TLS.RootCAs == nil || !cfg.TLS.RootCAs.Equal(x509.NewCertPool()) {
		t.Errorf("RootCAs = %v; the official returns an empty, non-nil pool", cfg.TLS.RootCAs)
	}
}

func TestNewConfigRejectsATrustedCAFileHoldingANonCertificateBlock(t *testing.T) {
	body := []byte("not a certificate")
	block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: body})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, block, 0o600); err != nil {
		t.Fatal(err)
	}
	_, want := x509.ParseCertificate(body)
	_, err := yaml.NewConfig(writeFile(t, "trusted-ca-file: "+ca+"\n"))
	if err == nil || err.Error() != want.Error() {
		t.Errorf("NewConfig with a key block in trusted-ca-file: error %v; the official parses every PEM block as a certificate and returns %q", err, want)
	}
}

// TestNewConfigConnectsToTLSEtcdWithClientCertificate loads a file naming
// the certificates of a real TLS cluster that requires client certificates
// and uses the result to talk to it.
func TestNewConfigConnectsToTLSEtcdWithClientCertificate(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithClientTLS(), etcdtest.WithClientCertAuth())
	ti := c.TLS()
	p := writeFile(t, fmt.Sprintf(`
endpoints: [%q]
dial-timeout: 5000000000
cert-file: %s
key-file: %s
trusted-ca-file: %s
`, c.ClientURLs()[0], ti.ClientCertFile, ti.ClientKeyFile, ti.CAFile))
	cfg, err := yaml.NewConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == nil || cfg.TLS.RootCAs == nil || len(cfg.TLS.Certificates) != 1 {
		t.Fatalf("TLS = %+v, want the CA from trusted-ca-file and one client certificate", cfg.TLS)
	}
	cli, err := clientv3.New(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(sharedcluster.Context(t), "k", "v"); err != nil {
		t.Fatalf("Put over the configured TLS connection: %v", err)
	}
}
