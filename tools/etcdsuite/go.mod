module github.com/a74b11dd/etcdkit/tools/etcdsuite

go 1.26.0
