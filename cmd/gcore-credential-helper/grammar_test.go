package main

import (
	"context"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/G-Core/gcore-credential-helper/internal/kong"
)

// TestGrammarForOneCommand: a command line parsed against the grammar of its
// one command gives what the whole grammar gives: the same command, the same
// global flags (from flags and the environment), the same command flags, and
// an error exactly when the whole grammar has one.
func TestGrammarForOneCommand(t *testing.T) {
	lines := []string{
		"get",
		"get --format token",
		"get --format=header --min-ttl 10m",
		"-p ci get --refresh",
		"get -p ci --api-key",
		"--profile=ci --non-interactive kube --cluster k8s --project-id 1 --region-id 76",
		"kube --min-ttl 10m --cluster k8s --project-name Default --region-name Luxembourg",
		"docker get",
		"git get",
		"git capability",
		"export --format fish --api-key",
		"exec -- terraform plan -out x",
		"exec --min-ttl 1m terraform apply",
		"login --username a@example.com --client-id 7",
		"logout --yes",
		"logout -y -p ops",
		"lock",
		"passphrase --backend keyctl",
		"setup kubectl --write --cluster k8s",
		"setup docker",
		"status --json",
		"doctor",
		"version",
		// Mistakes: both refuse them.
		"get --format yaml",
		"get --min-ttl soon",
		"get extra",
		"kube --cluster",
		"docker push",
		"setup podman",
		"logout --force",
		"exec",
	}
	envs := map[string][]string{
		"no environment": nil,
		"GCORE_PROFILE":  {"GCORE_PROFILE=from-env"},
	}
	for envName, env := range envs {
		for _, line := range lines {
			t.Run(envName+"/"+line, func(t *testing.T) {
				args := strings.Fields(line)
				one := grammarFor(args)
				if _, whole := one.(*cli); whole {
					t.Fatalf("grammarFor(%q) is the whole grammar, want the command's own", line)
				}
				a := &app{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, getenv: lookupEnv(env)}
				wholeGrammar := &cli{}
				_, wholeCtx, wholeErr := a.parse(wholeGrammar, args)
				_, oneCtx, oneErr := a.parse(one, args)
				if (wholeErr == nil) != (oneErr == nil) {
					t.Fatalf("whole grammar: %v; one command's: %v", wholeErr, oneErr)
				}
				if wholeErr != nil {
					return
				}
				if w, o := wholeCtx.Command(), oneCtx.Command(); w != o {
					t.Errorf("command %q, one command's grammar %q", w, o)
				}
				wv, ov := reflect.ValueOf(wholeGrammar).Elem(), reflect.ValueOf(one).Elem()
				if diff := cmp.Diff(wholeGrammar.Globals, ov.Field(0).Interface(), cmp.AllowUnexported(Globals{})); diff != "" {
					t.Errorf("globals (-whole +one):\n%s", diff)
				}
				field := ov.Type().Field(1).Name
				if diff := cmp.Diff(wv.FieldByName(field).Interface(), ov.Field(1).Interface(), cmp.Exporter(func(reflect.Type) bool { return true })); diff != "" {
					t.Errorf("%s (-whole +one):\n%s", field, diff)
				}
			})
		}
	}
}

// TestGrammarForNeedsTheWholeGrammar: help, --version, completion, no command
// and an unknown command get the whole grammar, so that kong's help and
// suggestions span every command.
func TestGrammarForNeedsTheWholeGrammar(t *testing.T) {
	for _, line := range []string{
		"", "help", "help get", "get --help", "-h", "--version", "completion bash", "gte", "-p ci",
		"--non-interactive", "--profile=ci",
	} {
		if _, whole := grammarFor(strings.Fields(line)).(*cli); !whole {
			t.Errorf("grammarFor(%q) is one command's grammar, want the whole", line)
		}
	}
}

// TestOneCommandCoversEveryCommand: every command of cli but help and
// completion has a grammar of its own, with cli's field name and tags (the
// one-line help aside), so a new command cannot be forgotten or drift.
func TestOneCommandCoversEveryCommand(t *testing.T) {
	whole := reflect.TypeFor[cli]()
	seen := map[string]bool{}
	for i := range whole.NumField() {
		f := whole.Field(i)
		if f.Tag.Get("cmd") == "" && !strings.Contains(string(f.Tag), `cmd:""`) {
			continue
		}
		name := f.Tag.Get("name")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == "help" || name == "completion" {
			continue
		}
		seen[name] = true
		make, ok := oneCommand[name]
		if !ok {
			t.Errorf("command %s has no grammar of its own in oneCommand", name)
			continue
		}
		one := reflect.TypeOf(make()).Elem()
		if one.NumField() != 2 || one.Field(0).Type != reflect.TypeFor[Globals]() {
			t.Errorf("oneCommand[%s] is %s, want the Globals and one command", name, one)
			continue
		}
		got := one.Field(1)
		wantTag := strings.TrimSpace(regexp.MustCompile(` ?help:"[^"]*"`).ReplaceAllString(string(f.Tag), ""))
		if got.Name != f.Name || got.Type != f.Type || string(got.Tag) != wantTag {
			t.Errorf("oneCommand[%s] field %s %s `%s`, want %s %s `%s`", name, got.Name, got.Type, got.Tag, f.Name, f.Type, wantTag)
		}
	}
	for name := range oneCommand {
		if !seen[name] {
			t.Errorf("oneCommand has %s, which cli does not", name)
		}
	}
}

// TestCommandsRunAsKongWould holds the grammar to what lets runSelected call a
// command's Run itself: kong's Context.Run runs the Run of the selected
// command and of every command above it, then AfterRun hooks. So the root may
// have no Run, every command of the root but help must be a command, and no
// type in the grammar may declare AfterRun. Commands below those (none today)
// would go through kong's Run.
func TestCommandsRunAsKongWould(t *testing.T) {
	a := &app{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, getenv: lookupEnv(nil)}
	parser, _, err := a.parse(&cli{}, []string{"version"})
	if err != nil {
		t.Fatal(err)
	}
	hasMethod := func(v reflect.Value, name string) bool {
		_, byValue := v.Type().MethodByName(name)
		_, byPointer := reflect.PointerTo(v.Type()).MethodByName(name)
		return byValue || byPointer
	}
	root := parser.Model.Node
	if hasMethod(root.Target, "Run") {
		t.Errorf("the root (%s) has a Run method, which kong would run too", root.Target.Type())
	}
	var visit func(n *kong.Node, depth int)
	visit = func(n *kong.Node, depth int) {
		if hasMethod(n.Target, "AfterRun") {
			t.Errorf("%s declares AfterRun, which runSelected would skip", n.Target.Type())
		}
		for _, f := range n.Flags {
			if f.Target.IsValid() && hasMethod(f.Target, "AfterRun") {
				t.Errorf("flag --%s declares AfterRun, which runSelected would skip", f.Name)
			}
		}
		if depth == 1 && n.Type == kong.CommandNode && n.Name != "help" {
			if _, ok := n.Target.Addr().Interface().(command); !ok {
				t.Errorf("command %q (%s) has no Run(*app) error", n.Name, n.Target.Type())
			}
		}
		for _, c := range n.Children {
			visit(c, depth+1)
		}
	}
	visit(root, 0)
}
