// Package modroot finds the module's root directory from a test, so that a
// test can read the repository's own files (examples, data, other packages'
// directories) wherever `go test` runs it.
package modroot

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir walks up from the working directory to the directory holding go.mod.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's working directory")
		}
		dir = parent
	}
}
