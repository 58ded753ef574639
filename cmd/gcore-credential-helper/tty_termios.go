//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package main

import "golang.org/x/sys/unix"

// echoOff turns the terminal's echo off, keeping line editing and Ctrl-C,
// and returns what puts it back. It runs before the prompt is written, so
// that an answer typed (or pasted) the moment the prompt appears is never
// shown.
func echoOff(fd int) (restore func(), err error) {
	modes, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, err
	}
	saved := *modes
	modes.Lflag &^= unix.ECHO
	modes.Lflag |= unix.ICANON | unix.ISIG
	modes.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, modes); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, ioctlSetTermios, &saved) }, nil
}
