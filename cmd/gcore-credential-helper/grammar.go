package main

import (
	"slices"
	"strings"
	"time"

	"github.com/G-Core/gcore-credential-helper/internal/kong"
)

// The command line, declared with kong: help, `help`, --version, enums, env
// defaults and "did you mean" come from it. The personas
// (docker-credential-gcore, git-credential-gcore) speak their callers'
// grammars and are dispatched on argv[0] before kong (personas.go).

// Globals are the flags accepted before or after any command. (Exported only
// because grammarFor embeds it in a struct type it makes at run time.)
type Globals struct {
	Profile        string           `short:"p" placeholder:"NAME" predictor:"profile" help:"Profile to use (default: the GCORE_PROFILE variable, else \"default\")."`
	NonInteractive bool             `name:"non-interactive" help:"Never prompt; exit 3 when a login would be needed."`
	Version        kong.VersionFlag `help:"Print the version and exit."`
}

// cli is the whole grammar, in the order help lists the commands.
type cli struct {
	Globals

	Login      loginCmd      `cmd:"" help:"Log in and store the session (or an API token) for a profile."`
	Logout     logoutCmd     `cmd:"" help:"Forget the profile's session, and delete the keys and users it minted."`
	Lock       lockCmd       `cmd:"" help:"Forget the unlocked store key; the next call asks its guardian (passphrase or keyring) again."`
	Passphrase passphraseCmd `cmd:"" help:"Change the credential store's passphrase, or give its key to an OS keyring."`
	Get        getCmd        `cmd:"" help:"Print a valid credential."`
	Kube       kubeCmd       `cmd:"" help:"kubectl exec credential plugin: print an ExecCredential."`
	Docker     dockerCmd     `cmd:"" help:"docker credential helper (also as docker-credential-gcore)."`
	Git        gitCmd        `cmd:"" help:"git credential helper (also as git-credential-gcore)."`
	Export     exportCmd     `cmd:"" help:"Print the environment Gcore's tools read (never the refresh token)."`
	Exec       execCmd       `cmd:"" help:"Run a command with that environment and exit with its status."`
	Setup      setupCmd      `cmd:"" help:"Print (or with --write apply) kubectl's, docker's or git's configuration for the profile."`
	Status     statusCmd     `cmd:"" help:"Show profiles and their sessions, never a secret."`
	Doctor     doctorCmd     `cmd:"" help:"Check the configuration, store, keyrings, IAM and the clock, with fixes."`
	Completion completionCmd `cmd:"" help:"Print a shell completion script."`
	VersionCmd versionCmd    `cmd:"" name:"version" help:"Print version information."`
	Help       helpCmd       `cmd:"" help:"Show help for a command."`
}

// minTTL is the flag every reading command takes (get, kube, export, exec).
type minTTL struct {
	MinTTL *time.Duration `name:"min-ttl" placeholder:"DURATION" help:"Never hand out a credential with less life left (default: the profile's min_ttl)."`
}

// apiKey asks for a short-lived API key minted from the session (the reference's service credentials)
// instead of the access token, for tools that take only APIKey tokens.
type apiKey struct {
	APIKey bool `name:"api-key" help:"A short-lived API key minted from the session (api_key_ttl, default 12h) instead of the access token."`
}

// cluster names a Gcore Managed Kubernetes cluster, its project and region by
// id or by name. Unset ids are the profile's (project_id, region_id,
// GCORE_CLOUD_PROJECT_ID, GCORE_CLOUD_REGION_ID).
type cluster struct {
	Cluster     string `placeholder:"NAME" help:"A Gcore Managed Kubernetes cluster: answer with its client certificate."`
	ProjectID   int64  `name:"project-id" placeholder:"ID" help:"The cluster's project (default: the profile's project_id, or GCORE_CLOUD_PROJECT_ID)."`
	RegionID    int64  `name:"region-id" placeholder:"ID" help:"The cluster's region (default: the profile's region_id, or GCORE_CLOUD_REGION_ID)."`
	ProjectName string `name:"project-name" placeholder:"NAME" help:"The cluster's project, by name."`
	RegionName  string `name:"region-name" placeholder:"NAME" help:"The cluster's region, by display name or slug."`
}

type loginCmd struct {
	Username string `placeholder:"EMAIL" help:"Gcore login; saved in the profile."`
	ClientID *int64 `name:"client-id" placeholder:"ID" help:"Account to switch to after login; saved in the profile."`
}

type logoutCmd struct {
	Yes bool `short:"y" help:"Do not ask for confirmation."`
}

type lockCmd struct{}

type passphraseCmd struct {
	Backend string `enum:"file,secret-service,kwallet,keychain,wincred,pass,keyctl" default:"file" help:"Who keeps the store's key from now on: file (a passphrase) or an OS keyring."`
}

type getCmd struct {
	Format  string `enum:"json,token,header" default:"json" help:"Output: json, token or header."`
	Refresh bool   `help:"Treat the current credential as refused and fetch a new one."`
	minTTL
	apiKey
}

type kubeCmd struct {
	cluster
	minTTL
}

type dockerCmd struct {
	Verb string `arg:"" enum:"get,store,erase,list,version" help:"The docker credential-helper verb: get, store, erase, list or version."`
}

type gitCmd struct {
	Action string `arg:"" help:"The git credential-helper action: get, store, erase or capability (others are ignored)."`
}

type exportCmd struct {
	Format string `enum:"sh,fish,pwsh,dotenv,json" default:"sh" help:"Output: sh, fish, pwsh, dotenv or json."`
	minTTL
	apiKey
}

type execCmd struct {
	minTTL
	apiKey
	Command []string `arg:"" passthrough:"partial" name:"command" help:"The command to run, and its arguments."`
}

type setupCmd struct {
	Caller string `arg:"" enum:"kubectl,docker,git" help:"kubectl, docker or git."`
	Write  bool   `help:"Apply it: idempotent, backs the file up before changing it."`
	cluster
}

type statusCmd struct {
	JSON bool `name:"json" help:"Print JSON."`
}

type doctorCmd struct{}

type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

type versionCmd struct{}

// helpCmd is `help [COMMAND]`: what `COMMAND --help` prints.
type helpCmd struct {
	Command []string `arg:"" optional:"" help:"The command to explain."`
}

// Kong builds its model by reflection over every command and interpolates
// every help text, at every start: for the whole grammar that is most of a
// cache hit's budget (README, Performance). A command line that plainly names
// one command is therefore parsed against a grammar of the Globals and that
// command alone: the same command types, the same parse, only without the
// other commands and the command's one-line help. Everything else (no
// command, a typo, help, --version) and any error get the whole grammar, so
// help and suggestions are kong's over every command.
// TestGrammarForOneCommand checks that both parse every command line alike,
// and that oneCommand names every command but help and completion.

// oneCommand makes the grammar of one command. The types are declared, not
// made with reflect.StructOf, which costs a cold process ~0.3 ms looking
// through every type in the binary. Field names and tags are cli's.
var oneCommand = map[string]func() any{
	"login": func() any {
		return &struct {
			Globals
			Login loginCmd `cmd:""`
		}{}
	},
	"logout": func() any {
		return &struct {
			Globals
			Logout logoutCmd `cmd:""`
		}{}
	},
	"lock": func() any {
		return &struct {
			Globals
			Lock lockCmd `cmd:""`
		}{}
	},
	"passphrase": func() any {
		return &struct {
			Globals
			Passphrase passphraseCmd `cmd:""`
		}{}
	},
	"get": func() any {
		return &struct {
			Globals
			Get getCmd `cmd:""`
		}{}
	},
	"kube": func() any {
		return &struct {
			Globals
			Kube kubeCmd `cmd:""`
		}{}
	},
	"docker": func() any {
		return &struct {
			Globals
			Docker dockerCmd `cmd:""`
		}{}
	},
	"git": func() any {
		return &struct {
			Globals
			Git gitCmd `cmd:""`
		}{}
	},
	"export": func() any {
		return &struct {
			Globals
			Export exportCmd `cmd:""`
		}{}
	},
	"exec": func() any {
		return &struct {
			Globals
			Exec execCmd `cmd:""`
		}{}
	},
	"setup": func() any {
		return &struct {
			Globals
			Setup setupCmd `cmd:""`
		}{}
	},
	"status": func() any {
		return &struct {
			Globals
			Status statusCmd `cmd:""`
		}{}
	},
	"doctor": func() any {
		return &struct {
			Globals
			Doctor doctorCmd `cmd:""`
		}{}
	},
	"version": func() any {
		return &struct {
			Globals
			VersionCmd versionCmd `cmd:"" name:"version"`
		}{}
	},
}

// grammarFor returns a pointer to the grammar kong should build for args:
// the whole cli, or a struct of the Globals and the one command args name.
func grammarFor(args []string) any {
	one, ok := oneCommand[commandIn(args)]
	if !ok || slices.ContainsFunc(args, wantsWholeGrammar) {
		return &cli{}
	}
	return one()
}

// wantsWholeGrammar reports whether arg asks for what only the whole grammar
// answers: help, or the version flag.
func wantsWholeGrammar(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "--version"
}

// commandIn finds the command word: the first argument that is neither a
// global flag nor a global flag's value.
func commandIn(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-p" || a == "--profile":
			i++ // its value
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// Examples, which kong prints after a command's flags.

func (getCmd) Help() string {
	return "Example:\n  curl -H \"$(" + programName + " get --format header)\" https://api.gcore.com/iam/clients/me"
}

func (kubeCmd) Help() string {
	return "Example, in a kubeconfig user:\n  exec:\n    apiVersion: client.authentication.k8s.io/v1\n    command: " + programName +
		"\n    args: [kube]\n    interactiveMode: IfAvailable"
}

func (loginCmd) Help() string {
	return "Example:\n  GCORE_PASSWORD=… " + programName + " login --username me@example.com --client-id 12345"
}

func (exportCmd) Help() string {
	return "Example:\n  eval \"$(" + programName + " export)\"\n  " + programName + " export --format fish | source"
}

func (execCmd) Help() string {
	return "Example:\n  " + programName + " exec --profile tf -- terraform apply\n  " + programName + " exec --api-key -- terraform apply"
}

func (setupCmd) Help() string {
	return "Example:\n  " + programName + " setup kubectl --cluster prod --project-id 1000503 --region-id 76 --write\n  " +
		programName + " setup git --write --profile work"
}

func (completionCmd) Help() string {
	return "Example:\n  source <(" + programName + " completion bash)\n  " + programName + " completion fish | source"
}
