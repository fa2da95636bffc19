package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// copyClient writes our client/v3 tree into dst as a module named
// officialClient: every non-test Go file, with our import paths rewritten.
// The shared kernel both our clients use (kernel, the module's internal/)
// goes with it, as officialClient's internal/etcdkit/. A package that
// imports anything else of ours outside client/v3 (test helpers built on
// etcdtest) is left out: the official module has no such package and
// etcd's tests cannot import it.
func copyClient(src, kernel, goMod, dst string) error {
	if err := copyTree(src, dst); err != nil {
		return err
	}
	if err := copyTree(kernel, filepath.Join(dst, "internal", "etcdkit")); err != nil {
		return err
	}
	mod, err := os.ReadFile(goMod)
	if err != nil {
		return err
	}
	mod = moduleLine.ReplaceAll(mod, []byte("module "+officialClient))
	return os.WriteFile(filepath.Join(dst, "go.mod"), mod, 0o644)
}

// ourKernel is the import path of our shared kernel, and kernelCopy that
// of its copy inside the transplanted client.
var (
	ourKernel  = strings.TrimSuffix(ourClient, "/client/v3") + "/internal"
	kernelCopy = officialClient + "/internal/etcdkit"
)

// rewrite points the imports of one of our files at the transplanted tree.
func rewrite(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte(`"`+ourKernel+`/`), []byte(`"`+kernelCopy+`/`))
	return bytes.ReplaceAll(b, []byte(`"`+ourClient), []byte(`"`+officialClient))
}

// copyTree copies the non-test Go files of src into dst, rewritten, leaving
// out the packages that import what the transplanted tree does not hold.
func copyTree(src, dst string) error {
	dirs := map[string][]string{}
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for dir, files := range dirs {
		rel, err := filepath.Rel(src, dir)
		if err != nil {
			return err
		}
		out := map[string][]byte{}
		keep := true
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if outsideClient(f, b) {
				keep = false
				break
			}
			out[filepath.Base(f)] = rewrite(b)
		}
		if !keep {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dst, rel), 0o755); err != nil {
			return err
		}
		for name, b := range out {
			if err := os.WriteFile(filepath.Join(dst, rel, name), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

var moduleLine = regexp.MustCompile(`(?m)^module .*$`)

// outsideClient reports whether the Go file imports a package of our module
// that is neither under client/v3 nor in the shared kernel.
func outsideClient(name string, src []byte) bool {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
	if err != nil {
		return false // let the compiler report it
	}
	ourModule := strings.TrimSuffix(ourClient, "/client/v3")
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if strings.HasPrefix(p, ourModule+"/") && p != ourClient && !strings.HasPrefix(p, ourClient+"/") && !strings.HasPrefix(p, ourKernel+"/") {
			return true
		}
	}
	return false
}

// writeRunner writes the module go test runs in: it requires etcd's test
// module and replaces the official client with the copy in clientDir.
func writeRunner(dir, clientDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mod := fmt.Sprintf(`module etcdsuite.invalid/run

go 1.26.0

require %s %s

replace %s => %s
`, suiteModule, suiteVersion, officialClient, clientDir)
	return os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644)
}
