package etcdtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// dial opens a raw gRPC connection to endpoint; etcdtest's tests use the
// generated stubs so that they depend on no client of this repository.
func dial(t *testing.T, endpoint string, tlsCfg *tls.Config) *grpc.ClientConn {
	t.Helper()
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient("passthrough:///"+endpoint, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func put(ctx context.Context, conn *grpc.ClientConn, key, val string) error {
	_, err := pb.NewKVClient(conn).Put(ctx, &pb.PutRequest{Key: []byte(key), Value: []byte(val)})
	return err
}

func get(ctx context.Context, conn *grpc.ClientConn, key string) (string, error) {
	resp, err := pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{Key: []byte(key)})
	if err != nil {
		return "", err
	}
	if len(resp.Kvs) == 0 {
		return "", errors.New("key not found")
	}
	return string(resp.Kvs[0].Value), nil
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestEveryVersionStartsWithOneAndThreeMembers(t *testing.T) {
	for _, v := range Versions {
		for _, size := range []int{1, 3} {
			t.Run(string(v)+"/"+map[int]string{1: "one", 3: "three"}[size], func(t *testing.T) {
				c := NewCluster(t, WithVersion(v), WithSize(size))
				if got := len(c.Members()); got != size {
					t.Fatalf("members: got %d, want %d", got, size)
				}
				if c.Leader() == nil {
					t.Fatal("NewCluster returned before the cluster had a leader")
				}
				ctx := timeout(t, 10*time.Second)
				for i, ep := range c.Endpoints() {
					conn := dial(t, ep, nil)
					key := "k" + string(rune('0'+i))
					if err := put(ctx, conn, key, "v"); err != nil {
						t.Fatalf("put through member %d's endpoint %s: %v", i, ep, err)
					}
					st, err := pb.NewMaintenanceClient(conn).Status(ctx, &pb.StatusRequest{})
					if err != nil {
						t.Fatal(err)
					}
					if !strings.HasPrefix(st.Version, v.Release()) {
						t.Fatalf("member %d runs etcd %s, want %s", i, st.Version, v.Release())
					}
				}
			})
		}
	}
}

func TestV2KeysAPIAnswersOnEtcd35(t *testing.T) {
	c := NewCluster(t, WithVersion(V3_5), WithV2())
	u := c.ClientURLs()[0] + "/v2/keys/etcdtest"
	req, _ := http.NewRequestWithContext(timeout(t, 10*time.Second), http.MethodPut, u, strings.NewReader(url.Values{"value": {"bar"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Node struct{ Value string } `json:"node"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Node.Value != "bar" {
		t.Fatalf("v2 GET returned value %q, want %q", body.Node.Value, "bar")
	}
}

func TestOptionsRejectImpossibleClusters(t *testing.T) {
	for name, opts := range map[string][]Option{
		"v2 on 3.7":       {WithVersion(V3_7), WithV2()},
		"two members":     {WithSize(2)},
		"unknown version": {WithVersion("3.4")},
	} {
		if c, err := Start(t.Context(), opts...); err == nil {
			c.Close()
			t.Errorf("%s: Start succeeded, want an error", name)
		}
	}
}

func TestClientTLSWithCertAuthAndPeerTLS(t *testing.T) {
	c := NewCluster(t, WithSize(3), WithClientCertAuth(), WithPeerTLS())
	if !strings.HasPrefix(c.ClientURLs()[0], "https://") {
		t.Fatalf("client URL %s, want https", c.ClientURLs()[0])
	}
	withCert, err := c.TLS().ClientConfig(true)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(timeout(t, 10*time.Second), dial(t, c.Endpoints()[1], withCert), "tls", "ok"); err != nil {
		t.Fatalf("put with the client certificate: %v", err)
	}
	noCert, err := c.TLS().ClientConfig(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(timeout(t, 3*time.Second), dial(t, c.Endpoints()[1], noCert), "tls", "no"); err == nil {
		t.Fatal("put without a client certificate succeeded, want it refused")
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	c, err := Start(t.Context(), WithSize(3))
	if err != nil {
		t.Fatal(err)
	}
	pids := c.pids()
	c.Members()[1].Stop() // a stopped member must die too
	c.Close()
	for i, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("member %d (pid %d) still exists after Close (kill 0: %v)", i, pid, err)
		}
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("data dir %s still exists after Close", c.dir)
	}
}

func TestEmbeddedServerSourcesMatchToolsEtcdserver(t *testing.T) {
	for _, v := range Versions {
		files, err := sourceFiles(v)
		if err != nil {
			t.Fatal(err)
		}
		for name, embedded := range files {
			want, err := os.ReadFile(filepath.Join("..", "tools", "etcdserver", "v"+string(v), name))
			if err != nil {
				t.Skipf("tools/etcdserver not present: %v", err)
			}
			if string(want) != string(embedded) {
				t.Errorf("etcdtest/serversrc/v%s differs from tools/etcdserver/v%s/%s: run go generate ./etcdtest", v, v, name)
			}
		}
	}
}

func TestBinaryEnvOverridesTheBuild(t *testing.T) {
	t.Setenv(BinaryEnv(V3_6), "/nonexistent/etcd")
	if _, err := Binary(t.Context(), V3_6); err == nil || !strings.Contains(err.Error(), "ETCDKIT_ETCD_3_6") {
		t.Fatalf("Binary with %s pointing nowhere: got %v, want an error naming the variable", BinaryEnv(V3_6), err)
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
}
