//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package main

// echoOff has no termios here (Windows' console): hidden answers are read
// with term.ReadPassword, which turns echo off itself.
func echoOff(int) (restore func(), err error) { return nil, nil }
