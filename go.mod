module github.com/G-Core/gcore-credential-helper

go 1.26.0

require (
	github.com/99designs/go-keychain v0.0.0-20191008050251-8e49817e8af4
	github.com/BurntSushi/toml v1.6.0
	github.com/alecthomas/assert/v2 v2.11.0
	github.com/alecthomas/repr v0.5.2
	github.com/creack/pty v1.1.24
	github.com/danieljoos/wincred v1.2.3
	github.com/docker/docker-credential-helpers v0.9.13
	github.com/godbus/dbus v0.0.0-20190726142602-4481cbc300e2
	github.com/google/go-cmp v0.7.0
	github.com/gsterjov/go-libsecret v0.0.0-20161001094733-a6f4afe4910c
	github.com/posener/complete v1.2.3
	github.com/rogpeppe/go-internal v1.16.0
	github.com/stretchr/testify v1.11.1
	golang.org/x/crypto v0.59.0
	golang.org/x/mod v0.21.0
	golang.org/x/sync v0.25.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
)

require golang.org/x/tools v0.26.0 // indirect

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-multierror v1.1.1 // indirect
	github.com/hexops/gotextdiff v1.0.3 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
