package yaml_test

import (
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

func TestNewConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"malformed yaml", "endpoints: [\n"},
		{"missing certificate file", "cert-file: /nonexistent.crt\nkey-file: /nonexistent.key\n"},
		{"missing CA file", "trusted-ca-file: /nonexistent-ca.crt\n"},
		{"CA file without certificates", "trusted-ca-file: " + os.DevNull + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := yaml.NewConfig(writeFile(t, tt.content)); err == nil {
				t.Error("NewConfig succeeded, want an error")
			}
		})
	}
	if _, err := yaml.NewConfig(filepath.Join(t.TempDir(), "absent.yaml")); !os.IsNotExist(err) {
		t.Errorf("NewConfig(absent file) error = %v, want not-exist", err)
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
ca-file: %s
`, c.ClientURLs()[0], ti.ClientCertFile, ti.ClientKeyFile, ti.CAFile))
	cfg, err := yaml.NewConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == nil || cfg.TLS.RootCAs == nil || len(cfg.TLS.Certificates) != 1 {
		t.Fatalf("TLS = %+v, want the CA from ca-file and one client certificate", cfg.TLS)
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
