package main

import (
	"bytes"
	"flag"
	"go/format"
	"os"
	"strings"
	"testing"
)

// The etcdkit adapters are the official adapters with the import path
// changed: etcdkit's exported API is the official one, so the same source
// text drives both, and neither client gets an easier or a harder ride.
// This test keeps them that way; -update-adapters rewrites them.

var updateAdapters = flag.Bool("update-adapters", false, "rewrite clients_etcdkit_*.go from clients_official_*.go")

type mirror struct {
	src, dst string
	replacer *strings.Replacer
}

var mirrors = []mirror{
	{
		src: "clients_official_v3.go", dst: "clients_etcdkit_v3.go",
		replacer: strings.NewReplacer(
			`"go.etcd.io/etcd/client/v3"`, `"github.com/a74b11dd/etcdkit/client/v3"`,
			"officialV3", "etcdkitV3", "OfficialV3", "EtcdkitV3",
			"the official v3 client", "etcdkit's v3 client",
			mirrorNote, ""),
	},
	{
		src: "clients_official_fault.go", dst: "clients_etcdkit_fault.go",
		replacer: strings.NewReplacer(
			`"go.etcd.io/etcd/client/v3"`, `"github.com/a74b11dd/etcdkit/client/v3"`,
			"officialFault", "etcdkitFault", "OfficialFault", "EtcdkitFault",
			"the official v3 client", "etcdkit's v3 client",
			mirrorNote, ""),
	},
	{
		src: "clients_official_fault_v2.go", dst: "clients_etcdkit_fault_v2.go",
		replacer: strings.NewReplacer(
			`"go.etcd.io/etcd/client/v2"`, `"github.com/a74b11dd/etcdkit/client/v2"`,
			"officialFaultV2", "etcdkitFaultV2", "OfficialFaultV2", "EtcdkitFaultV2",
			"the official v2 client to", "etcdkit's v2 client to",
			mirrorNote, ""),
	},
	{
		src: "clients_official_v2.go", dst: "clients_etcdkit_v2.go",
		replacer: strings.NewReplacer(
			`"go.etcd.io/etcd/client/v2"`, `"github.com/a74b11dd/etcdkit/client/v2"`,
			"officialV2", "etcdkitV2", "OfficialV2", "EtcdkitV2",
			"the official v2 client", "etcdkit's v2 client",
			mirrorNote, ""),
	},
}

// mirrorNote is the line of the official adapters that does not apply to
// their copies.
const mirrorNote = "// It is the source of its etcdkit twin: edit it, then run\n" +
	"// `go test -run TestEtcdkitAdaptersMirrorOfficial -update-adapters`.\n"

func (m mirror) generate(t *testing.T) []byte {
	src, err := os.ReadFile(m.src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(mirrorNote)) {
		t.Fatalf("%s lacks the note that it is the source of %s", m.src, m.dst)
	}
	var b bytes.Buffer
	b.WriteString("// Code generated from " + m.src + " by adapters_test.go; DO NOT EDIT.\n\n")
	b.WriteString(m.replacer.Replace(string(src)))
	out, err := format.Source(b.Bytes())
	if err != nil {
		t.Fatalf("generated %s does not parse: %v", m.dst, err)
	}
	return out
}

func TestEtcdkitAdaptersMirrorOfficial(t *testing.T) {
	for _, m := range mirrors {
		want := m.generate(t)
		if *updateAdapters {
			if err := os.WriteFile(m.dst, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(m.dst)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not the mirror of %s; run go test -run %s -update-adapters", m.dst, m.src, t.Name())
		}
	}
}
