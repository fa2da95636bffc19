// Command etcd is the etcd server v3.7.3, built unchanged from its published Go
// module so that etcdtest can run a real, pinned server. It exists only to be
// built; nothing here is part of the etcdkit library.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
