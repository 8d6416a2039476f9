//go:build !linux

package main

import "errors"

// runFloor needs epoll (floor_linux.go).
func runFloor(_, _ string) error {
	return errors.New("the floor proxy needs Linux (epoll)")
}
