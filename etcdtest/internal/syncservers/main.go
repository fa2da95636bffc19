// Command syncservers copies tools/etcdserver into etcdtest/serversrc, the
// embedded copy from which etcdtest builds servers. Run it through go generate
// in the etcdtest directory after changing a pinned server module.
package main

import (
	"log"
	"os"
	"path/filepath"
)

// embeddedName maps a file of a server module to its name in the embedded
// copy: a file named go.mod would make the directory a module of its own,
// which go:embed and module zips leave out.
var embeddedName = map[string]string{"go.mod": "gomod.txt", "go.sum": "gosum.txt", "main.go": "main.go.txt"}

func main() {
	versions, err := filepath.Glob("../tools/etcdserver/v*")
	if err != nil || len(versions) == 0 {
		log.Fatalf("syncservers: no server modules under ../tools/etcdserver (run from etcdtest/): %v", err)
	}
	for _, dir := range versions {
		dst := filepath.Join("serversrc", filepath.Base(dir))
		if err := os.MkdirAll(dst, 0o755); err != nil {
			log.Fatal(err)
		}
		for from, to := range embeddedName {
			b, err := os.ReadFile(filepath.Join(dir, from))
			if err != nil {
				log.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, to), b, 0o644); err != nil {
				log.Fatal(err)
			}
		}
	}
}
