module github.com/a74b11dd/etcdkit

go 1.26
