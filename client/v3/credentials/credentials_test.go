package credentials

import (
	"context"
	"crypto/tls"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBundleSendsNoMetadataWithoutToken(t *testing.T) {
	b := NewPerRPCCredentialBundle()
	md, err := b.PerRPCCredentials().GetRequestMetadata(context.Background())
	if err != nil || len(md) != 0 {
		t.Errorf("metadata = %v, %v; want none", md, err)
	}
}

func TestBundleSendsTheLatestToken(t *testing.T) {
	b := NewPerRPCCredentialBundle()
	rc := b.PerRPCCredentials()
	for _, tok := range []string{"first", "second"} {
		b.UpdateAuthToken(tok)
		md, err := rc.GetRequestMetadata(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if md["token"] != tok {
			t.Errorf("token metadata = %q, want %q", md["token"], tok)
		}
	}
	if rc.RequireTransportSecurity() {
		t.Error("RequireTransportSecurity = true, want false (etcd accepts tokens without TLS)")
	}
}

func TestBundleIsSafeForConcurrentUpdates(t *testing.T) {
	b := NewPerRPCCredentialBundle()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); b.UpdateAuthToken("t") }()
		go func() { defer wg.Done(); b.PerRPCCredentials().GetRequestMetadata(context.Background()) }()
	}
	wg.Wait()
}

func TestTransportCredentialSpeaksTLS(t *testing.T) {
	tc := NewTransportCredential(&tls.Config{ServerName: "etcd.example"})
	if p := tc.Info().SecurityProtocol; p != "tls" {
		t.Errorf("SecurityProtocol = %q, want tls", p)
	}
	if NewTransportCredential(nil) == nil {
		t.Error("NewTransportCredential(nil) = nil")
	}
}
