// Package durable writes small files so that a crash leaves either the old
// content or the new one, never a torn mix: write a temporary file in the
// same directory, fsync it, move it into place, fsync the directory.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, atomically and durably.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, os.Rename)
}

// CreateFile creates path with data, atomically and durably, and never
// replaces an existing file: it fails with an error matching fs.ErrExist,
// even when another process creates the file at the same moment (a hard link
// never overwrites).
func CreateFile(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, os.Link)
}

// Remove deletes path durably: once it returns, a crash cannot bring the
// file back. A missing file is an error matching fs.ErrNotExist.
func Remove(path string) error {
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// Rename moves oldpath to newpath durably: once it returns, a crash leaves
// the file under its new name only.
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	if err := syncDir(filepath.Dir(newpath)); err != nil {
		return err
	}
	if filepath.Dir(oldpath) == filepath.Dir(newpath) {
		return nil
	}
	return syncDir(filepath.Dir(oldpath))
}

func write(path string, data []byte, perm fs.FileMode, place func(tmp, path string) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("durable: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a rename there is nothing left to remove
	if err = tmp.Chmod(perm); err == nil {
		if _, err = tmp.Write(data); err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("durable: write %s: %w", path, err)
	}
	if err := place(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("durable: %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("durable: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("durable: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("durable: sync %s: %w", dir, err)
	}
	return nil
}
