package modroot

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	d := Dir(t)
	if _, err := os.Stat(filepath.Join(d, "go.mod")); err != nil {
		t.Fatalf("%s holds no go.mod: %v", d, err)
	}
}
