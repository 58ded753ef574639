// Command cgocheck type-checks Go packages for a platform whose cgo toolchain
// this machine lacks: the macOS Keychain backend needs cgo and the macOS SDK,
// so `GOOS=darwin CGO_ENABLED=1 go build` cannot run on Linux. It lists the
// packages and their dependencies as the go command would build them there
// (`go list -deps`, which needs no C compiler), then type-checks each with
// go/types, standing in for cgo's "C" package (types.Config.FakeImportC):
// every Go-side mistake is reported, while what C declares is taken on trust.
//
//	go run ./internal/cgocheck -os darwin -arch arm64 ./cmd/gcore-credential-helper
//
// It is a type check, not a build: C declarations, cgo's pointer rules and
// linking are checked only by a real build on the platform itself.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	goos := flag.String("os", "darwin", "GOOS to check for")
	goarch := flag.String("arch", "arm64", "GOARCH to check for")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: cgocheck [-os GOOS] [-arch GOARCH] package…")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	res, err := check(*goos, *goarch, flag.Args())
	if err != nil {
		fmt.Fprintf(os.Stderr, "cgocheck: %v\n", err)
		os.Exit(1)
	}
	for _, e := range res.errors {
		fmt.Fprintln(os.Stderr, e)
	}
	fmt.Printf("cgocheck %s/%s: %d packages type-checked, %d with cgo (%s)\n",
		*goos, *goarch, res.packages, len(res.cgo), strings.Join(res.cgo, ", "))
	if len(res.errors) > 0 {
		os.Exit(1)
	}
}

// listedPackage is the part of `go list -json` output the check needs.
type listedPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	CgoFiles   []string
	ImportMap  map[string]string
	Error      *struct{ Err string }
}

// result is what a check found.
type result struct {
	packages int
	cgo      []string // import paths of the packages that use cgo
	errors   []string // type errors, file:line:col: message
}

// check type-checks patterns and all they import, as built for goos/goarch
// with cgo enabled.
func check(goos, goarch string, patterns []string) (result, error) {
	pkgs, err := list(goos, goarch, patterns)
	if err != nil {
		return result{}, err
	}
	sizes := types.SizesFor("gc", goarch)
	if sizes == nil {
		return result{}, fmt.Errorf("unknown GOARCH %q", goarch)
	}
	fset := token.NewFileSet()
	checked := map[string]*types.Package{"unsafe": types.Unsafe}
	var res result
	// go list -deps lists every package after the packages it imports.
	for _, p := range pkgs {
		if p.ImportPath == "unsafe" {
			continue
		}
		if p.Error != nil {
			return res, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
		var files []*ast.File
		for _, name := range append(append([]string(nil), p.GoFiles...), p.CgoFiles...) {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				return res, err
			}
			files = append(files, f)
		}
		conf := types.Config{
			Importer:    importer{checked: checked, importMap: p.ImportMap},
			Sizes:       sizes,
			FakeImportC: len(p.CgoFiles) > 0,
			// The standard library is checked by Go's own release process; its
			// declarations are all dependents need.
			IgnoreFuncBodies: p.Standard,
			Error: func(err error) {
				res.errors = append(res.errors, err.Error())
			},
		}
		pkg, _ := conf.Check(p.ImportPath, fset, files, nil)
		checked[p.ImportPath] = pkg
		res.packages++
		if len(p.CgoFiles) > 0 {
			res.cgo = append(res.cgo, p.ImportPath)
		}
	}
	return res, nil
}

// list runs `go list -deps -json` for the target platform.
func list(goos, goarch string, patterns []string) ([]listedPackage, error) {
	cmd := exec.Command("go", append([]string{"list", "-deps", "-e", "-json=ImportPath,Dir,Standard,GoFiles,CgoFiles,ImportMap,Error"}, patterns...)...)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
}

// importer resolves an import of one package to an already checked package,
// through that package's ImportMap (vendored standard-library paths).
type importer struct {
	checked   map[string]*types.Package
	importMap map[string]string
}

func (i importer) Import(path string) (*types.Package, error) {
	if mapped, ok := i.importMap[path]; ok {
		path = mapped
	}
	if p, ok := i.checked[path]; ok && p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("package %q was not checked before its importer", path)
}
