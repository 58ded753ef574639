//go:build darwin || freebsd || openbsd || netbsd || dragonfly

package main

import "golang.org/x/sys/unix"

const ioctlGetTermios, ioctlSetTermios = unix.TIOCGETA, unix.TIOCSETA
