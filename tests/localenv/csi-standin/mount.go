package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// isMountPoint reports whether target is the mount point of some mount in this mount
// namespace. A bind mount of a directory of the same file system cannot be told apart by
// device numbers, so this reads /proc/self/mountinfo.
func isMountPoint(target string) (bool, error) {
	target = filepath.Clean(target)
	if resolved, err := filepath.EvalSymlinks(target); err == nil {
		target = resolved
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == target {
			return true, nil
		}
	}
	return false, scanner.Err()
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space, \134 for a backslash).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// bindMount mounts src onto target (a directory, created if missing); readonly remounts the
// bind read-only, which a plain MS_BIND|MS_RDONLY would silently ignore.
func bindMount(src, target string, readonly bool) error {
	if err := os.MkdirAll(target, 0o750); err != nil {
		return fmt.Errorf("could not create dir %q: %w", target, err)
	}
	if err := syscall.Mount(src, target, "", syscall.MS_BIND, ""); err != nil {
		_ = os.Remove(target)
		return fmt.Errorf("could not bind-mount %q at %q: %w", src, target, err)
	}
	if readonly {
		flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY)
		if err := syscall.Mount("", target, "", flags, ""); err != nil {
			_ = syscall.Unmount(target, 0)
			_ = os.Remove(target)
			return fmt.Errorf("could not make %q read-only: %w", target, err)
		}
	}
	return nil
}

// unmountAndRemove unmounts target if it is mounted and removes the directory; a target
// that is already gone is fine (the CSI spec asks for idempotent unpublish and unstage).
func unmountAndRemove(target string) error {
	mounted, err := isMountPoint(target)
	if err != nil {
		return fmt.Errorf("failed to check if volume is mounted: %w", err)
	}
	if mounted {
		if err := syscall.Unmount(target, 0); err != nil {
			return fmt.Errorf("could not unmount %q: %w", target, err)
		}
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("could not remove %q: %w", target, err)
	}
	return nil
}
