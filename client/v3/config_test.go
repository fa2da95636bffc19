package clientv3_test

import (
	"testing"
	"time"

	"go.uber.org/zap"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/etcdtest"
)

func TestNewClientConfigBuildsAWorkingMutualTLSConfig(t *testing.T) {
	c := startCluster(t, 1, etcdtest.WithClientTLS(), etcdtest.WithClientCertAuth())
	ti := c.TLS()
	spec := &clientv3.ConfigSpec{
		Endpoints:        c.Endpoints(),
		DialTimeout:      5 * time.Second,
		KeepAliveTime:    30 * time.Second,
		KeepAliveTimeout: 5 * time.Second,
		Secure:           &clientv3.SecureConfig{Cert: ti.ClientCertFile, Key: ti.ClientKeyFile, Cacert: ti.CAFile},
		Auth:             &clientv3.AuthConfig{},
	}
	lg := zap.NewNop()
	cfg, err := clientv3.NewClientConfig(spec, lg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS == nil || cfg.TLS.GetClientCertificate == nil || cfg.TLS.RootCAs == nil {
		t.Fatalf("TLS = %+v, want a client certificate read at each handshake and a CA pool", cfg.TLS)
	}
	if cfg.DialKeepAliveTime != spec.KeepAliveTime {
		t.Errorf("keep-alive %v not carried over", cfg.DialKeepAliveTime)
	}
	if cfg.Logger != nil {
		t.Errorf("Logger = %v, want nil: the official NewClientConfig does not set it", cfg.Logger)
	}
	cfg.Logger = lg
	cli, err := clientv3.New(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(ctxT(t), key(t, "k"), "v"); err != nil {
		t.Fatalf("Put over the built config: %v", err)
	}
}

func TestNewClientConfigTransportChoices(t *testing.T) {
	tests := []struct {
		name       string
		secure     *clientv3.SecureConfig
		wantTLS    bool
		wantVerify bool
	}{
		{"no secure section", nil, false, true},
		{"insecure transport", &clientv3.SecureConfig{InsecureTransport: true}, false, true},
		{"secure without files", &clientv3.SecureConfig{}, true, true},
		{"skip verify", &clientv3.SecureConfig{InsecureTransport: true, InsecureSkipVerify: true}, true, false},
	}
	for _, tt := range tests {
		cfg, err := clientv3.NewClientConfig(&clientv3.ConfigSpec{Secure: tt.secure}, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if (cfg.TLS != nil) != tt.wantTLS {
			t.Errorf("%s: TLS set = %v, want %v", tt.name, cfg.TLS != nil, tt.wantTLS)
		}
		if cfg.TLS != nil && cfg.TLS.InsecureSkipVerify == tt.wantVerify {
			t.Errorf("%s: InsecureSkipVerify = %v, want %v", tt.name, cfg.TLS.InsecureSkipVerify, !tt.wantVerify)
		}
	}
}

func TestNewClientConfigRejectsBadInput(t *testing.T) {
	for name, spec := range map[string]*clientv3.ConfigSpec{
		"nil":              nil,
		"missing cert":     {Secure: &clientv3.SecureConfig{Cert: "/no/such/cert", Key: "/no/such/key"}},
		"key without cert": {Secure: &clientv3.SecureConfig{Key: "/k"}},
		"missing ca":       {Secure: &clientv3.SecureConfig{Cacert: "/no/such/ca"}},
	} {
		if _, err := clientv3.NewClientConfig(spec, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Conflicting credentials are New's to refuse, as with the official
	// client.
	cfg, err := clientv3.NewClientConfig(&clientv3.ConfigSpec{Auth: &clientv3.AuthConfig{Username: "u", Token: "t"}}, nil)
	if err != nil || cfg.Username != "u" || cfg.Token != "t" {
		t.Errorf("user and token: %+v, %v; want both carried over and no error", cfg, err)
	}
}

func TestConfigSpecCloneIsDeep(t *testing.T) {
	orig := &clientv3.ConfigSpec{Endpoints: []string{"a:1"}, Secure: &clientv3.SecureConfig{Cert: "c"}, Auth: &clientv3.AuthConfig{Username: "u"}}
	cp := orig.Clone()
	cp.Endpoints[0], cp.Secure.Cert, cp.Auth.Username = "b:2", "d", "v"
	if orig.Endpoints[0] != "a:1" || orig.Secure.Cert != "c" || orig.Auth.Username != "u" {
		t.Fatalf("changing the clone changed the original: %+v", orig)
	}
	if (*clientv3.ConfigSpec)(nil).Clone() != nil {
		t.Error("nil.Clone() != nil")
	}
	if !(clientv3.AuthConfig{}).Empty() || (clientv3.AuthConfig{Token: "t"}).Empty() {
		t.Error("AuthConfig.Empty wrong")
	}
}
