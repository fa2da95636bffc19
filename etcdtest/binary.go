package etcdtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// serverSources is a copy of tools/etcdserver, the one place the pinned
// server modules are maintained; go generate refreshes it and a test checks
// that the copy is current. It is embedded, with the go.mod and go.sum files
// renamed, so that etcdtest can build a server even where only this module is
// present (a user's module cache holds no nested modules).
//
//go:generate go run ./internal/syncservers
//go:embed serversrc
var serverSources embed.FS

// BinaryEnv returns the environment variable that may name a prebuilt etcd
// server binary for v, such as ETCDKIT_ETCD_3_7.
func BinaryEnv(v Version) string {
	return "ETCDKIT_ETCD_" + strings.ReplaceAll(string(v), ".", "_")
}

// Binary returns the path of an etcd server binary of version v: the one named
// by BinaryEnv(v) if that is set, else the pinned build in the user cache
// directory, which is built with the go command the first time it is needed.
func Binary(ctx context.Context, v Version) (string, error) {
	if !v.valid() {
		return "", fmt.Errorf("etcdtest: unknown version %q", v)
	}
	if p := os.Getenv(BinaryEnv(v)); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("etcdtest: %s=%s: %w", BinaryEnv(v), p, err)
		}
		return p, nil
	}
	return buildBinary(ctx, v)
}

// sourceFiles returns the module that builds v, keyed by file name.
func sourceFiles(v Version) (map[string][]byte, error) {
	dir := "serversrc/v" + string(v)
	files := map[string][]byte{}
	for name, embedded := range map[string]string{"go.mod": "gomod.txt", "go.sum": "gosum.txt", "main.go": "main.go.txt"} {
		b, err := serverSources.ReadFile(dir + "/" + embedded)
		if err != nil {
			return nil, fmt.Errorf("etcdtest: embedded server source for %s: %w", v, err)
		}
		files[name] = b
	}
	return files, nil
}

func buildBinary(ctx context.Context, v Version) (string, error) {
	files, err := sourceFiles(v)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("etcdtest: no user cache dir to build etcd %s into (set %s instead): %w", v.Release(), BinaryEnv(v), err)
	}
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum", "main.go"} {
		h.Write(files[name])
	}
	fmt.Fprintf(h, "%s/%s", runtime.GOOS, runtime.GOARCH)
	key := fmt.Sprintf("etcd-%s-%s", v.Release(), hex.EncodeToString(h.Sum(nil))[:16])
	root := filepath.Join(cache, "etcdkit")
	bin := filepath.Join(root, key, "etcd")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("etcdtest: %w", err)
	}
	unlock, err := lockFile(filepath.Join(root, "build.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // another process built it while this one waited
	}

	src := filepath.Join(root, key, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", fmt.Errorf("etcdtest: %w", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			return "", fmt.Errorf("etcdtest: %w", err)
		}
	}
	goCmd, err := goCommand()
	if err != nil {
		return "", fmt.Errorf("etcdtest: building etcd %s needs the go command (or set %s): %w", v.Release(), BinaryEnv(v), err)
	}
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("etcdtest: building etcd %s in %s failed (set %s to use a prebuilt binary): %w\n%s",
			v.Release(), src, BinaryEnv(v), err, out.Bytes())
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("etcdtest: %w", err)
	}
	return bin, nil
}

// goCommand finds the go command: on PATH (go test puts GOROOT/bin first), or
// in the GOROOT this binary was built with.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("go is not on PATH and not in GOROOT")
	}
	return p, nil
}

// lockFile takes an exclusive advisory lock on path, waiting for it, so that
// test binaries running in parallel build each server once.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("etcdtest: locking %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
