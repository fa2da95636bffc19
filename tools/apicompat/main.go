// Command apicompat checks that etcdkit's clients export exactly the API of
// the official ones: every package, identifier, signature, struct field (with
// its tag), method and constant value. It type-checks both from source, so a
// difference that would break a user's build after switching import paths is
// found here first. It exits 1 when the APIs differ.
//
// It lives in its own module because it must import the official clients,
// which the library module never may.
package main

import (
	"flag"
	"fmt"
	"go/constant"
	"go/types"
	"os"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// A family maps an official import-path prefix to ours.
type family struct {
	official, ours string
	// skip lists official subpackages, relative to official, that we do
	// not offer, with the reason.
	skip map[string]string
	// extras lists what we export beyond the official API on purpose, as
	// "package-relative-path key", with the reason. Additions never break a
	// user's build; each one here must earn its place.
	extras map[string]string
}

const ourModule = "github.com/a74b11dd/etcdkit"

var families = []family{
	{official: "go.etcd.io/etcd/client/v2", ours: "github.com/a74b11dd/etcdkit/client/v2", extras: map[string]string{
		" (*ClusterError).Is":          "errors.Is(err, ErrClusterUnavailable) holds for the error every failed request returns",
		" Client.(unexported methods)": "the APIs reach the client behind a wrapper that embeds a Client; no type outside the package could implement Client before either (Do takes an unexported type)",
	}},
	{official: "go.etcd.io/etcd/client/v3", ours: "github.com/a74b11dd/etcdkit/client/v3", skip: map[string]string{
		"/mock/mockserver": "an in-process fake gRPC server for the official client's own tests; our tests use real etcd (etcdtest)",
	}, extras: map[string]string{
		" ErrKeepAliveHalted.Unwrap":    "errors.Is(err, context.Canceled) sees why keep-alives halted",
		" (*ErrKeepAliveHalted).Unwrap": "the same method, through a pointer",
	}},
}

func main() {
	only := flag.String("only", "", "check only official packages whose path contains this string")
	flag.StringVar(&repo, "repo", "../..", "the etcdkit checkout whose packages are checked")
	flag.Parse()

	var problems []string
	for _, f := range families {
		problems = append(problems, checkFamily(f, *only)...)
	}
	if len(problems) == 0 {
		fmt.Println("apicompat: the exported APIs match")
		return
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	fmt.Printf("apicompat: %d differences\n", len(problems))
	os.Exit(1)
}

// repo is where our packages are loaded from, in the context of their own
// module; the official ones are loaded in this tool's module.
var repo string

func load(dir, pattern string) map[string]*packages.Package {
	cfg := &packages.Config{Dir: dir, Mode: packages.NeedName | packages.NeedTypes | packages.NeedImports | packages.NeedDeps}
	pkgs, err := packages.Load(cfg, pattern)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicompat:", err)
		os.Exit(2)
	}
	out := map[string]*packages.Package{}
	for _, p := range pkgs {
		if p.Name == "" && len(p.Errors) > 0 {
			fmt.Fprintf(os.Stderr, "apicompat: loading %s: %v\n", p.PkgPath, p.Errors[0])
			continue
		}
		if strings.Contains(p.PkgPath, "/internal") || p.Types == nil {
			continue
		}
		out[p.PkgPath] = p
	}
	return out
}

func checkFamily(f family, only string) []string {
	official := load("", f.official+"/...")
	ours := load(repo, "./"+strings.TrimPrefix(f.ours, ourModule+"/")+"/...")
	if len(official) == 0 {
		// Never pass vacuously: no official package means a broken set-up.
		return []string{fmt.Sprintf("%s: no official package loaded", f.official)}
	}
	var problems []string
	var paths []string
	for path := range official {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		rel := strings.TrimPrefix(path, f.official)
		if _, skipped := f.skip[rel]; skipped || only != "" && !strings.Contains(path, only) {
			continue
		}
		op := official[path]
		if len(op.Errors) > 0 {
			problems = append(problems, fmt.Sprintf("%s: the official package does not type-check: %v", path, op.Errors[0]))
			continue
		}
		our, ok := ours[f.ours+rel]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: missing package %s", path, f.ours+rel))
			continue
		}
		if len(our.Errors) > 0 {
			problems = append(problems, fmt.Sprintf("%s: our package does not type-check: %v", f.ours+rel, our.Errors[0]))
			continue
		}
		problems = append(problems, comparePackages(f, rel, path, op.Types, our.Types)...)
	}
	return problems
}

// describe returns, for every exported object of pkg and every exported
// member of its named types, a key ("Config.Endpoints") and a description
// that is equal for equal APIs. Types are printed with our import paths
// rewritten to the official ones.
func describe(f family, pkg *types.Package) map[string]string {
	qual := func(p *types.Package) string {
		return strings.Replace(p.Path(), f.ours, f.official, 1)
	}
	ts := func(t types.Type) string { return types.TypeString(t, qual) }
	out := map[string]string{}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Const:
			out[name] = "const " + ts(o.Type()) + " = " + o.Val().ExactString()
			if o.Val().Kind() == constant.Unknown {
				out[name] = "const " + ts(o.Type())
			}
		case *types.Var:
			out[name] = "var " + ts(o.Type())
		case *types.Func:
			out[name] = "func " + ts(o.Type())
		case *types.TypeName:
			describeType(out, name, o, ts)
		}
	}
	return out
}

func describeType(out map[string]string, name string, o *types.TypeName, ts func(types.Type) string) {
	if o.IsAlias() {
		out[name] = "type = " + ts(o.Type())
		return
	}
	under := o.Type().Underlying()
	switch u := under.(type) {
	case *types.Struct:
		out[name] = "struct"
		for i := 0; i < u.NumFields(); i++ {
			fld := u.Field(i)
			if !fld.Exported() {
				continue
			}
			d := "field " + ts(fld.Type())
			if fld.Embedded() {
				d = "embedded " + ts(fld.Type())
			}
			if tag := u.Tag(i); tag != "" {
				d += " `" + tag + "`"
			}
			out[name+"."+fld.Name()] = d
		}
	case *types.Interface:
		out[name] = "interface"
		for i := 0; i < u.NumMethods(); i++ {
			m := u.Method(i)
			if m.Exported() {
				out[name+"."+m.Name()] = "interface method " + ts(m.Type())
			} else {
				out[name+".(unexported methods)"] = "sealed"
			}
		}
		return // an interface's methods are its method set
	default:
		out[name] = "type " + ts(under)
	}
	if tp, ok := o.Type().(*types.Named); ok && tp.TypeParams().Len() > 0 {
		out[name] += " with type parameters " + tp.TypeParams().At(0).String()
	}
	// Methods callable on a value and on a pointer: promoted ones included,
	// since a user cannot tell them from declared ones.
	for _, recv := range []types.Type{o.Type(), types.NewPointer(o.Type())} {
		ms := types.NewMethodSet(recv)
		for i := 0; i < ms.Len(); i++ {
			m := ms.At(i).Obj()
			if !m.Exported() {
				continue
			}
			key := name + "." + m.Name()
			if _, isPtr := recv.(*types.Pointer); isPtr {
				if _, seen := out[key]; seen {
					continue
				}
				key = "(*" + name + ")." + m.Name()
			}
			out[key] = "method " + ts(m.Type())
		}
	}
}

func comparePackages(f family, rel, path string, official, ours *types.Package) []string {
	want, got := describe(f, official), describe(f, ours)
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var problems []string
	for _, k := range keys {
		w, inOfficial := want[k]
		g, inOurs := got[k]
		switch {
		case !inOurs:
			problems = append(problems, fmt.Sprintf("%s: missing %s (%s)", path, k, w))
		case !inOfficial:
			if _, deliberate := f.extras[rel+" "+k]; !deliberate {
				problems = append(problems, fmt.Sprintf("%s: extra %s (%s)", path, k, g))
			}
		case w != g:
			problems = append(problems, fmt.Sprintf("%s: %s differs:\n\tofficial: %s\n\tours:     %s", path, k, w, g))
		}
	}
	return problems
}
