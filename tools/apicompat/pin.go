// The blank imports keep every official package, and so its whole dependency
// graph, in go.mod and go.sum: apicompat loads them by pattern at run time.

package main

import (
	_ "go.etcd.io/etcd/client/v2"
	_ "go.etcd.io/etcd/client/v3"
	_ "go.etcd.io/etcd/client/v3/clientv3util"
	_ "go.etcd.io/etcd/client/v3/concurrency"
	_ "go.etcd.io/etcd/client/v3/credentials"
	_ "go.etcd.io/etcd/client/v3/experimental/recipes"
	_ "go.etcd.io/etcd/client/v3/kubernetes"
	_ "go.etcd.io/etcd/client/v3/leasing"
	_ "go.etcd.io/etcd/client/v3/mirror"
	_ "go.etcd.io/etcd/client/v3/namespace"
	_ "go.etcd.io/etcd/client/v3/naming/endpoints"
	_ "go.etcd.io/etcd/client/v3/naming/resolver"
	_ "go.etcd.io/etcd/client/v3/ordering"
	_ "go.etcd.io/etcd/client/v3/snapshot"
	_ "go.etcd.io/etcd/client/v3/yaml"
)
