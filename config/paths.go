package config

import (
	"fmt"
	"path/filepath"
)

// appDir is the directory name under each XDG base directory.
const appDir = "gcore-credential-helper"

// ConfigVar names the config file explicitly. It is not GCORE_CONFIG, which Gcore's own CLI
// reads for its YAML file.
const ConfigVar = "GCORE_CREDENTIAL_HELPER_CONFIG"

// Paths are where the helper keeps its files (the reference's configuration).
type Paths struct {
	ConfigFile string // the TOML config file
	// ConfigNamed is true when ConfigVar named ConfigFile: then it must exist, while the XDG
	// default may be absent.
	ConfigNamed bool
	CacheDir    string // the failed-login memory
	DataDir     string // the encrypted store and its lock files
}

// ResolvePaths places the config file at GCORE_CREDENTIAL_HELPER_CONFIG (taken as given), else
// under XDG_CONFIG_HOME; the failed-login memory under XDG_CACHE_HOME; the encrypted store under
// XDG_DATA_HOME. Unset or relative XDG values are ignored, as the XDG Base Directory spec
// requires, in favour of ~/.config, ~/.cache and ~/.local/share; HOME must then be absolute.
func ResolvePaths(env Env) (Paths, error) {
	var p Paths
	var err error
	p.ConfigFile = env.get(ConfigVar)
	p.ConfigNamed = p.ConfigFile != ""
	if !p.ConfigNamed {
		if p.ConfigFile, err = xdgDir(env, "XDG_CONFIG_HOME", ".config"); err != nil {
			return Paths{}, err
		}
		p.ConfigFile = filepath.Join(p.ConfigFile, "config.toml")
	}
	if p.CacheDir, err = xdgDir(env, "XDG_CACHE_HOME", ".cache"); err != nil {
		return Paths{}, err
	}
	if p.DataDir, err = xdgDir(env, "XDG_DATA_HOME", filepath.Join(".local", "share")); err != nil {
		return Paths{}, err
	}
	return p, nil
}

func xdgDir(env Env, key, underHome string) (string, error) {
	if dir := env.get(key); filepath.IsAbs(dir) {
		return filepath.Join(dir, appDir), nil
	}
	// A relative HOME would move the cache with the working directory, and git runs helpers
	// from inside each repository.
	home := env.get("HOME")
	if home == "" {
		return "", fmt.Errorf("cannot place files: HOME is not set and %s is unset or relative", key)
	}
	if !filepath.IsAbs(home) {
		return "", fmt.Errorf("cannot place files: HOME %q is not an absolute path", home)
	}
	return filepath.Join(home, underHome, appDir), nil
}
