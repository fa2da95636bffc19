package clientv3_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/metadata"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

func TestGetPrefixRangeEndIncrementsTheLastByteThatCanBe(t *testing.T) {
	for in, want := range map[string]string{
		"abc":          "abd",
		"ab\xff":       "ac",
		"a\xff\xff":    "b",
		"\xff\xff":     "\x00",
		"":             "\x00",
		"/dir/":        "/dir0",
		"x\x00":        "x\x01",
		"\xfe\xff\x01": "\xfe\xff\x02",
	} {
		if got := clientv3.GetPrefixRangeEnd(in); got != want {
			t.Errorf("GetPrefixRangeEnd(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpAccessorsReportTheirOptions(t *testing.T) {
	get := clientv3.OpGet("k", clientv3.WithPrefix(), clientv3.WithRev(5), clientv3.WithLimit(3),
		clientv3.WithSerializable(), clientv3.WithKeysOnly(), clientv3.WithCountOnly(),
		clientv3.WithMinModRev(1), clientv3.WithMaxModRev(2), clientv3.WithMinCreateRev(3), clientv3.WithMaxCreateRev(4),
		clientv3.WithSort(clientv3.SortByValue, clientv3.SortDescend))
	checks := map[string]bool{
		"IsGet":             get.IsGet() && !get.IsPut() && !get.IsDelete() && !get.IsTxn(),
		"key":               string(get.KeyBytes()) == "k",
		"range end":         string(get.RangeBytes()) == "l",
		"rev":               get.Rev() == 5,
		"limit":             get.Limit() == 3,
		"serializable":      get.IsSerializable(),
		"keys only":         get.IsKeysOnly(),
		"count only":        get.IsCountOnly(),
		"mod revs":          get.MinModRev() == 1 && get.MaxModRev() == 2,
		"create revs":       get.MinCreateRev() == 3 && get.MaxCreateRev() == 4,
		"sort":              get.IsSortSet() && get.IsSortOptionValid(),
		"prefix":            get.IsOptsWithPrefix() && !get.IsOptsWithFromKey(),
		"IsOptsWithPrefix":  clientv3.IsOptsWithPrefix([]clientv3.OpOption{clientv3.WithPrefix()}),
		"IsOptsWithFromKey": clientv3.IsOptsWithFromKey([]clientv3.OpOption{nil, clientv3.WithFromKey()}),
		"not from key":      !clientv3.IsOptsWithFromKey([]clientv3.OpOption{clientv3.WithPrefix()}),
	}
	put := clientv3.OpPut("k", "v", clientv3.WithLease(7), clientv3.WithPrevKV(), clientv3.WithIgnoreLease())
	checks["put"] = put.IsPut() && string(put.ValueBytes()) == "v" && put.IsPrevKV()
	del := clientv3.OpDelete("k", clientv3.WithFromKey())
	checks["delete from key"] = del.IsDelete() && del.IsOptsWithFromKey() && bytes.Equal(del.RangeBytes(), []byte{0})
	w := clientv3.OpWatch("k", clientv3.WithFragment(), clientv3.WithProgressNotify(), clientv3.WithCreatedNotify(),
		clientv3.WithFilterPut(), clientv3.WithFilterDelete(), clientv3.WithPrevKV(), clientv3.WithWatchBufLog())
	checks["watch flags"] = w.IsFragment() && w.IsProgressNotify() && w.IsCreatedNotify() && w.IsFilterPut() && w.IsFilterDelete() && w.IsPrevKV()
	txn := clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.Value("k"), "=", "v")}, []clientv3.Op{put}, []clientv3.Op{del})
	cmps, thens, elses := txn.Txn()
	checks["txn"] = txn.IsTxn() && len(cmps) == 1 && len(thens) == 1 && len(elses) == 1
	empty := clientv3.OpGet("", clientv3.WithPrefix())
	checks["empty prefix means everything"] = bytes.Equal(empty.KeyBytes(), []byte{0}) && bytes.Equal(empty.RangeBytes(), []byte{0})
	bad := clientv3.OpGet("k", clientv3.WithSort(clientv3.SortTarget(99), clientv3.SortAscend))
	checks["invalid sort detected"] = !bad.IsSortOptionValid()

	op := clientv3.NewOp()
	op.WithKeyBytes([]byte("a"))
	op.WithRangeBytes([]byte("b"))
	op.WithValueBytes([]byte("c"))
	checks["With*Bytes"] = string(op.KeyBytes()) == "a" && string(op.RangeBytes()) == "b" && string(op.ValueBytes()) == "c"
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: accessor does not report its option", name)
		}
	}
}

func TestCmpAccessorsAndWireFormRoundTrip(t *testing.T) {
	cmp := clientv3.Compare(clientv3.Value("k"), "!=", "v").WithPrefix()
	wire := cmp.GetCompare()
	if wire.Result != pb.Compare_NOT_EQUAL || wire.Target != pb.Compare_VALUE || string(wire.RangeEnd) != "l" {
		t.Fatalf("GetCompare = %v", wire)
	}
	back := clientv3.FromCompare(wire)
	if string(back.KeyBytes()) != "k" || string(back.ValueBytes()) != "v" {
		t.Errorf("FromCompare round trip: key %q value %q", back.KeyBytes(), back.ValueBytes())
	}
	clone := cmp.Clone()
	clone.WithKeyBytes([]byte("other"))
	clone.WithValueBytes([]byte("w"))
	if string(cmp.KeyBytes()) != "k" || string(cmp.ValueBytes()) != "v" {
		t.Error("changing a clone changed the original")
	}
	ver := clientv3.Compare(clientv3.ModRevision("k"), ">", 3).WithRange("z")
	if ver.ValueBytes() != nil || ver.GetCompare().GetModRevision() != 3 || string(ver.GetCompare().RangeEnd) != "z" {
		t.Errorf("ModRevision cmp wire form = %v", ver.GetCompare())
	}
	lease := clientv3.Compare(clientv3.LeaseValue("k"), "=", clientv3.LeaseID(9))
	if lease.GetCompare().GetLease() != 9 {
		t.Errorf("LeaseValue cmp wire form = %v", lease.GetCompare())
	}
}

func TestGetCompareReturnsTheComparisonItselfAsTheOfficialClientDoes(t *testing.T) {
	cmp := clientv3.Compare(clientv3.Value("k"), "=", "v")
	copied := cmp
	cmp.GetCompare().Key = []byte("k2")
	if string(cmp.KeyBytes()) != "k2" || string(copied.KeyBytes()) != "k2" {
		t.Errorf("after changing GetCompare's Key: KeyBytes = %q, copy's = %q, want k2 for both", cmp.KeyBytes(), copied.KeyBytes())
	}
	if cmp.GetCompare() != copied.GetCompare() {
		t.Error("a copy of a Cmp has a message of its own; the official client's copies share one")
	}

	ranged := cmp.WithRange("z")
	prefixed := cmp.WithPrefix()
	if len(cmp.GetCompare().RangeEnd) != 0 || string(ranged.GetCompare().RangeEnd) != "z" || string(prefixed.GetCompare().RangeEnd) != "k3" {
		t.Errorf("WithRange/WithPrefix: original end %q, ranged %q, prefixed %q; want \"\", z, k3",
			cmp.GetCompare().RangeEnd, ranged.GetCompare().RangeEnd, prefixed.GetCompare().RangeEnd)
	}

	base := clientv3.Value("k")
	_ = clientv3.Compare(base, "=", "v")
	if base.GetCompare().TargetUnion != nil {
		t.Errorf("Compare changed the Cmp it was given: %v", base.GetCompare())
	}

	wire := &pb.Compare{Key: []byte("w"), Target: pb.Compare_VERSION, TargetUnion: &pb.Compare_Version{Version: 2}}
	from := clientv3.FromCompare(wire)
	wire.Key[0] = 'x'
	if string(from.KeyBytes()) != "w" {
		t.Errorf("FromCompare shares the caller's message: KeyBytes = %q after the caller changed it, want w", from.KeyBytes())
	}

	var zero clientv3.Cmp
	if zero.GetCompare() == nil || zero.GetCompare() != zero.GetCompare() {
		t.Error("GetCompare on a zero Cmp must create one message and keep returning it")
	}

	every := clientv3.Value("").WithPrefix()
	if len(every.KeyBytes()) != 0 || string(every.GetCompare().RangeEnd) != "\x00" {
		t.Errorf("Value(\"\").WithPrefix() = key %q end %q, want \"\" and \"\\x00\"", every.KeyBytes(), every.GetCompare().RangeEnd)
	}
}

func TestWithRequireLeaderSetsMetadataAndKeepsTheRest(t *testing.T) {
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x", "1")
	ctx = clientv3.WithRequireLeader(ctx)
	md, _ := metadata.FromOutgoingContext(ctx)
	if got := md.Get(rpctypes.MetadataRequireLeaderKey); len(got) != 1 || got[0] != rpctypes.MetadataHasLeader {
		t.Errorf("%s = %v, want [%s]", rpctypes.MetadataRequireLeaderKey, got, rpctypes.MetadataHasLeader)
	}
	if got := md.Get("x"); len(got) != 1 {
		t.Errorf("other metadata lost: x = %v", got)
	}
	cli := newClient(t)
	if _, err := cli.Get(clientv3.WithRequireLeader(ctxT(t)), "k"); err != nil {
		t.Errorf("Get with WithRequireLeader on a healthy cluster: %v", err)
	}
}

func TestStrToPermissionType(t *testing.T) {
	for in, want := range map[string]clientv3.PermissionType{"read": 0, "WRITE": 1, "readWrite": 2} {
		got, err := clientv3.StrToPermissionType(in)
		if err != nil || got != want {
			t.Errorf("StrToPermissionType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := clientv3.StrToPermissionType("admin"); err == nil {
		t.Error("StrToPermissionType(admin) succeeded")
	}
}

func TestOpResponseAccessorsReturnWhatTheyWrap(t *testing.T) {
	put, get, del := &clientv3.PutResponse{}, &clientv3.GetResponse{}, &clientv3.DeleteResponse{}
	if put.OpResponse().Put() != put || get.OpResponse().Get() != get || del.OpResponse().Del() != del {
		t.Error("OpResponse accessors do not return the wrapped response")
	}
	if put.OpResponse().Get() != nil || get.OpResponse().Txn() != nil {
		t.Error("OpResponse returns a response of another kind")
	}
}

func TestOptionsThatDoNotFitAnOperationMakeItFail(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   clientv3.Op
		want string // "" when the op is valid
	}{
		{"get accepts sort and limit", clientv3.OpGet("k", clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(1)), ""},
		{"get refuses prefix with from-key", clientv3.OpGet("k", clientv3.WithPrefix(), clientv3.WithFromKey()), "WithPrefix and WithFromKey cannot be used together"},
		{"put refuses a range", clientv3.OpPut("k", "v", clientv3.WithPrefix()), "unexpected range in put"},
		{"put accepts a lease", clientv3.OpPut("k", "v", clientv3.WithLease(7)), ""},
		{"put refuses a revision", clientv3.OpPut("k", "v", clientv3.WithRev(3)), "unexpected revision in put"},
		{"delete accepts a range", clientv3.OpDelete("k", clientv3.WithPrefix()), ""},
		{"delete refuses a lease", clientv3.OpDelete("k", clientv3.WithLease(7)), "unexpected lease in delete"},
		{"delete refuses serializable", clientv3.OpDelete("k", clientv3.WithSerializable()), "unexpected serializable in delete"},
		{"delete refuses a filter", clientv3.OpDelete("k", clientv3.WithFilterPut()), "unexpected filter in delete"},
	} {
		_, err := clientv3.NewKV(&clientv3.Client{}).Do(t.Context(), tc.op)
		switch {
		case tc.want == "" && err != nil && strings.Contains(err.Error(), "unexpected"):
			t.Errorf("%s: got %v, want the op accepted", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestOpTxnKeepsItsComparisonsWhenTheCallerReusesItsSlice(t *testing.T) {
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.Version("a"), "=", 0)}
	op := clientv3.OpTxn(cmps, nil, nil)
	cmps[0] = clientv3.Compare(clientv3.Version("b"), "=", 1)
	got, _, _ := op.Txn()
	if k := string(got[0].KeyBytes()); k != "a" {
		t.Fatalf("after the caller reused its slice the txn compares key %q; want %q (the comparisons copied, as the official client copies them)", k, "a")
	}
}

func TestOpTxnAndThenKeepTheTransactionAsItWasWhenGiven(t *testing.T) {
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.Value("k"), "=", "v")}
	op := clientv3.OpTxn(cmps, nil, nil)
	cmps[0].WithValueBytes([]byte("x"))
	cmps[0].WithKeyBytes([]byte("other"))
	got, _, _ := op.Txn()
	if string(got[0].KeyBytes()) != "k" || string(got[0].ValueBytes()) != "v" {
		t.Errorf("OpTxn's comparison after the caller changed its own: %q = %q, want k = v (the official OpTxn copies them)", got[0].KeyBytes(), got[0].ValueBytes())
	}
}

func TestThenSendsANestedTransactionAsItWasWhenGiven(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	a, b := key(t, "a"), key(t, "b")
	then := []clientv3.Op{clientv3.OpPut(a, "1")}
	txn := cli.Txn(ctx).Then(clientv3.OpTxn(nil, then, nil))
	then[0] = clientv3.OpPut(b, "2")
	if _, err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]int{a: 1, b: 0} {
		resp, err := cli.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != want {
			t.Errorf("%s: %d keys after Commit, want %d: Then must send the nested transaction as it was when given, as the official client does", k, len(resp.Kvs), want)
		}
	}
}
